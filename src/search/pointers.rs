//! What in a question points at one passage by itself: the years of experience it states
//! ("I have 4 years", matched to the salary band that covers them), the salary band a pay
//! question names ("entry-level salary", "pay for freshers", by the band's level or its
//! aliases in `salary.toml`), and a numbered section it names ("phase 0", "year 3-4",
//! matched to the section titled so).
//!
//! Why: both retrievals read such a question by its shape. Every phase passage answers "how
//! long does phase N take", and the model hardly tells one digit from another, so "how long
//! is phase 0" ranked Phase 2 first; every salary band matches "salary with 4 years". The
//! number is what the question is about, so the passage it names is lifted. Level names are
//! the same: the model puts "entry-level ML architect salary" nearer the mid-level band.
//! They count only in a question about pay (a word of the base's "salary" synonym group),
//! since "beginner" or "lead" alone are not about a salary band. The passage it names is lifted
//! (`fuse::POINTED_BONUS`, and twice the BM25 score on the lexical side).

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::knowledge::{salary_band_passage_id, KnowledgeBase, SalaryBand};

/// Passages a question can point at, built with each knowledge base generation.
#[derive(Debug, Clone)]
pub struct Pointers {
    /// Salary bands and the passage each one became.
    bands: Vec<(SalaryBand, Option<usize>)>,

    /// Numbered sections: the label's word and number as titled ("phase", "0"; "year",
    /// "3-4"), and the passage. Labels two titles share point nowhere.
    numbered: Vec<(String, String, usize)>,

    /// Words that make a question about pay: "salary" and its synonyms in the base, in
    /// [`singular`] form.
    pay_words: Vec<String>,
}

/// "4 years", "7+ yrs": experience stated in a question.
fn years() -> &'static regex::Regex {
    static YEARS: OnceLock<regex::Regex> = OnceLock::new();
    YEARS.get_or_init(|| {
        regex::Regex::new(r"(?i)\b(\d{1,2})\s*\+?\s*(?:years?|yrs?|yoe)\b").expect("static pattern")
    })
}

/// A word and a number in a question or a title: "Phase 0", "year 3-4", "phase-2".
fn label() -> &'static regex::Regex {
    static LABEL: OnceLock<regex::Regex> = OnceLock::new();
    LABEL.get_or_init(|| {
        regex::Regex::new(r"(?i)\b([a-z]+)[\s-]*(\d{1,2}(?:\s*[-–]\s*\d{1,2})?)")
            .expect("static pattern")
    })
}

impl Pointers {
    pub fn build(kb: &KnowledgeBase) -> Pointers {
        let label = label();
        let mut numbered: Vec<(String, String, usize)> = Vec::new();
        for (ord, p) in kb.passages.iter().enumerate() {
            // Only a label that starts the title names the section ("Phase 0: Foundation",
            // not "Five trends shaping ML architecture in 2025").
            if let Some(c) = label
                .captures(&p.title)
                .filter(|c| c.get(0).is_some_and(|m| m.start() == 0))
            {
                numbered.push((c[1].to_lowercase(), normalise_number(&c[2]), ord));
            }
        }
        // Counted once per label, not by comparing every pair: a base may number thousands.
        let mut titled: HashMap<(String, String), usize> = HashMap::new();
        for (w, n, _) in &numbered {
            *titled.entry((w.clone(), n.clone())).or_default() += 1;
        }
        numbered.retain(|(w, n, _)| titled.get(&(w.clone(), n.clone())) == Some(&1));
        Pointers {
            bands: kb
                .salary
                .bands
                .iter()
                .map(|b| {
                    let id = salary_band_passage_id(b);
                    (b.clone(), kb.passages.iter().position(|p| p.id == id))
                })
                .collect(),
            numbered,
            pay_words: pay_words(kb),
        }
    }

    /// The passages `question` points at (usually none).
    pub fn pointed_at(&self, question: &str) -> Vec<usize> {
        let mut out: Vec<usize> = self.stated_band(question).into_iter().collect();
        for c in label().captures_iter(question) {
            let (word, number) = (c[1].to_lowercase(), normalise_number(&c[2]));
            for (w, n, ord) in &self.numbered {
                if *w == word && *n == number && !out.contains(ord) {
                    out.push(*ord);
                }
            }
        }
        out
    }

    /// The salary-band passage covering the years of experience stated in `question`, or
    /// else the one a question about pay names.
    fn stated_band(&self, question: &str) -> Option<usize> {
        let years = years()
            .captures(question)
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse::<u32>().ok());
        match years {
            Some(years) => self
                .bands
                .iter()
                .find(|(b, _)| b.covers_years(years))
                .and_then(|(_, ord)| *ord),
            None => self.named_band(question),
        }
    }

    /// The band a question about pay names by its level or an alias ("entry-level",
    /// "freshers"). Two bands named ("entry vs senior pay") point at neither: the question
    /// compares them.
    fn named_band(&self, question: &str) -> Option<usize> {
        let words = plain_words(question);
        if !words
            .split(' ')
            .any(|w| self.pay_words.iter().any(|p| p == w))
        {
            return None;
        }
        let padded = format!(" {words} ");
        let mut named = self.bands.iter().filter(|(b, _)| {
            std::iter::once(&b.level)
                .chain(&b.aliases)
                .map(|name| plain_words(name))
                .filter(|name| !name.is_empty())
                .any(|name| padded.contains(&format!(" {name} ")))
        });
        match (named.next(), named.next()) {
            (Some((_, ord)), None) => *ord,
            _ => None,
        }
    }
}

/// "salary" and the variants the base's synonyms give it, singular.
fn pay_words(kb: &KnowledgeBase) -> Vec<String> {
    let mut words = vec!["salary".to_string()];
    for s in kb.synonyms.iter().filter(|s| s.canonical == "salary") {
        words.extend(s.variants.iter().map(|v| singular(&v.to_lowercase())));
    }
    words
}

/// Lowercase singular words separated by single spaces, hyphens and punctuation read as
/// spaces: "Entry-level freshers?" is "entry level fresher".
fn plain_words(text: &str) -> String {
    text.to_lowercase()
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(singular)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A plural's singular, roughly ("salaries" -> "salary", "packages" -> "package"): enough
/// to compare a question's word with a list.
fn singular(word: &str) -> String {
    if let Some(stem) = word.strip_suffix("ies") {
        format!("{stem}y")
    } else if word.len() > 3 && word.ends_with('s') && !word.ends_with("ss") {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// "3 - 4" and "3–4" as "3-4".
fn normalise_number(number: &str) -> String {
    number
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| if c == '–' { '-' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::SourceFile;

    fn base() -> KnowledgeBase {
        let text = "+++\nid = \"p\"\ntitle = \"Roadmap\"\n+++\n## Phase 0: Foundation\nBasics.\n## Phase 2: MLOps\nPipelines.\n## Year 3-4: Lead\nLeading.\n## Five trends in 2025\nTrends.\n## Step 1: one\nA.\n## Step 1: again\nB.\n";
        KnowledgeBase::from_files(&[SourceFile {
            path: "k/p.md".into(),
            bytes: text.as_bytes().to_vec(),
        }])
        .unwrap()
    }

    #[test]
    fn a_numbered_section_named_in_the_question_is_pointed_at() {
        let kb = base();
        let pointers = Pointers::build(&kb);
        let title = |q: &str| -> Vec<String> {
            pointers
                .pointed_at(q)
                .into_iter()
                .map(|o| kb.passages[o].title.clone())
                .collect()
        };
        assert_eq!(
            title("how long does phase 0 take?"),
            ["Phase 0: Foundation"]
        );
        assert_eq!(title("wats in Phase-2 abt"), ["Phase 2: MLOps"]);
        assert_eq!(title("what happens in year 3 – 4"), ["Year 3-4: Lead"]);
        // A number that only appears later in a title, a label two titles share, none at all.
        assert!(title("trends in 2025").is_empty());
        assert!(title("what is step 1").is_empty());
        assert!(title("how long does phase 7 take").is_empty());
        assert!(title("how long does it take").is_empty());
    }

    #[test]
    fn a_pay_question_points_at_the_band_it_names() {
        let salary = "title = \"Pay\"\n[[band]]\nid = \"entry\"\nlevel = \"Entry level\"\naliases = [\"fresher\", \"junior\"]\nyears_min = 0\nyears_max = 2\nmin_lpa = 10\nmax_lpa = 18\n[[band]]\nid = \"senior\"\nlevel = \"Senior level\"\naliases = [\"lead\"]\nyears_min = 7\nmin_lpa = 40\n";
        let synonyms = "[[synonym]]\ncanonical = \"salary\"\nvariants = [\"pay\", \"package\"]\n";
        let kb = KnowledgeBase::from_files(&[
            SourceFile {
                path: "k/salary.toml".into(),
                bytes: salary.as_bytes().to_vec(),
            },
            SourceFile {
                path: "k/synonyms.toml".into(),
                bytes: synonyms.as_bytes().to_vec(),
            },
        ])
        .unwrap();
        let pointers = Pointers::build(&kb);
        let ids = |q: &str| -> Vec<String> {
            pointers
                .pointed_at(q)
                .into_iter()
                .map(|o| kb.passages[o].id.clone())
                .collect()
        };
        let entry = ids("entry-level salary?");
        assert_eq!(entry.len(), 1, "{entry:?}");
        assert!(entry[0].contains("entry"), "{entry:?}");
        assert_eq!(ids("what do Freshers get as a package"), entry);
        assert!(ids("salaries for leads")[0].contains("senior"));
        // Years stated decide over a level named.
        assert!(ids("junior pay with 8 years")[0].contains("senior"));
        // Not about pay; two bands named.
        assert!(ids("what should a junior learn first").is_empty());
        assert!(ids("entry level vs senior level pay").is_empty());
    }
}
