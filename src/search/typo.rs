//! Typo tolerance primitives: a bounded edit distance and a cheap letter-set pre-check.
//!
//! Typo correction compares an unknown question word with hundreds of known words, so both
//! must be cheap: the letter mask rules most candidates out with one XOR, and the distance
//! gives up as soon as it must exceed its bound.

/// The set of letters in `word` as bits (a-z one bit each; other characters share the
/// remaining six bits, which only makes the pre-check in `correct` more permissive).
pub(super) fn letter_mask(word: &str) -> u32 {
    word.chars().fold(0u32, |m, c| {
        let bit = if c.is_ascii_lowercase() {
            c as u32 - 'a' as u32
        } else {
            26 + (c as u32 % 6)
        };
        m | (1 << bit)
    })
}

/// Whether `short` reads as a texting abbreviation of `full`: "sal" of "salary" (a prefix),
/// "lvl" of "level" (the word's skeleton: its first letter and every consonant after it),
/// "certs" of "certifications" (a plural of either). Only whole skeletons: "ppl" is not
/// "pipelines" (`pplns`), nor "rly" "reliability". Both lowercase; `full` at least two letters longer, same first letter. A
/// typo is a near miss of a whole word (`osa_within`); an abbreviation is a part of one.
pub(super) fn abbreviates(short: &str, full: &str) -> bool {
    let forms = std::iter::once(short).chain(short.strip_suffix('s').filter(|s| s.len() >= 3));
    forms.into_iter().any(|short| {
        if short.len() < 3
            || full.len() < short.len() + 2
            || !short.chars().all(|c| c.is_ascii_lowercase())
            || short.chars().next() != full.chars().next()
        {
            return false;
        }
        full.starts_with(short) || skeleton(short) == short && skeleton(full) == short
    })
}

/// A word's first letter and the consonants after it ("level" -> "lvl").
fn skeleton(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .into_iter()
        .chain(chars.filter(|c| !"aeiouy".contains(*c)))
        .collect()
}

/// Optimal string alignment distance (edits, adjacent transpositions) between `a` and `b`,
/// or `None` as soon as it must exceed `max`. Typo correction runs this against hundreds of
/// words per unknown question word, so it gives up early and allocates nothing for words of
/// up to 63 chars (longer ones are never corrected).
pub(super) fn osa_within(a: &[char], b: &[char], max: usize) -> Option<usize> {
    const W: usize = 64;
    if a.len() >= W || b.len() >= W || a.len().abs_diff(b.len()) > max {
        return None;
    }
    let (mut two_back, mut prev, mut cur) = ([0usize; W], [0usize; W], [0usize; W]);
    for (j, cell) in prev.iter_mut().enumerate().take(b.len() + 1) {
        *cell = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            cur[j] = d;
            row_min = row_min.min(d);
        }
        if row_min > max {
            return None;
        }
        two_back = prev;
        prev = cur;
    }
    let d = prev[b.len()];
    (d <= max).then_some(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letter_masks_never_rule_out_a_close_word() {
        let words = [
            "salary", "salery", "senior", "senoir", "levle", "level", "mlops", "mlop", "élan",
            "elan", "k8s", "kos", "databse", "database",
        ];
        for a in words {
            for b in words {
                if strsim::osa_distance(a, b) <= 2 {
                    let diff = (letter_mask(a) ^ letter_mask(b)).count_ones() as usize;
                    assert!(diff <= 2 * strsim::osa_distance(a, b), "{a} {b}");
                }
            }
        }
    }

    #[test]
    fn abbreviations_are_prefixes_or_skeletons() {
        for (short, full) in [
            ("sal", "salary"),
            ("lvl", "level"),
            ("mdl", "model"),
            ("certs", "certifications"),
            ("libs", "libraries"),
        ] {
            assert!(abbreviates(short, full), "{short} {full}");
        }
        for (short, full) in [
            ("sa", "salary"),     // too short to mean anything
            ("salar", "salary"),  // a near miss is a typo, not an abbreviation
            ("lavl", "level"),    // a vowel inside: not a skeleton, not a prefix
            ("ppl", "pipelines"), // part of a skeleton
            ("rly", "reliability"),
            ("vl", "level"), // must start the word
            ("lvl", "lvl"),
            ("pizza", "pizzeria"), // not a prefix ("pizz" would be)
            ("Sal", "salary"),     // callers lowercase first
        ] {
            assert!(!abbreviates(short, full), "{short} {full}");
        }
    }

    #[test]
    fn bounded_osa_matches_strsim() {
        let words = [
            "salary",
            "salery",
            "senior",
            "senoir",
            "levle",
            "level",
            "",
            "a",
            "kubernetes",
            "kuberntees",
            "ab",
            "ba",
            "abc",
            "ca",
        ];
        for a in words {
            for b in words {
                let ac: Vec<char> = a.chars().collect();
                let bc: Vec<char> = b.chars().collect();
                let exact = strsim::osa_distance(a, b);
                for max in 0..4 {
                    let want = (exact <= max).then_some(exact);
                    assert_eq!(osa_within(&ac, &bc, max), want, "{a:?} {b:?} max {max}");
                }
            }
        }
    }
}
