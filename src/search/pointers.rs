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
//! and a one-word alias only next to that word, since "beginner" or "top" elsewhere in the
//! question are not about a salary band. The passage it names is lifted
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

    /// What makes a question about pay: "salary" and its synonyms in the base, each as
    /// plain singular words ([`plain_words`]).
    pay_words: Vec<Vec<String>>,

    /// The jobs whose pay the salary table gives: the job words of its title ("Machine
    /// Learning Architect salaries in India": "architect"), as plain singular words. Empty
    /// when the base has no salary bands.
    paid_jobs: Vec<String>,

    /// Each band's level and aliases as plain singular words, with the band's passage (the
    /// same order as `bands`).
    band_names: Vec<(Vec<Vec<String>>, Option<usize>)>,
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
            paid_jobs: if kb.salary.bands.is_empty() {
                Vec::new()
            } else {
                phrase(&kb.salary.title)
                    .into_iter()
                    .filter(|w| crate::search::lexical::is_job_word(w))
                    .collect()
            },
            pay_words: pay_words(kb),
            band_names: kb
                .salary
                .bands
                .iter()
                .map(|b| {
                    let id = salary_band_passage_id(b);
                    let names = std::iter::once(&b.level)
                        .chain(&b.aliases)
                        .map(|name| phrase(name))
                        .filter(|name| !name.is_empty())
                        .collect();
                    (names, kb.passages.iter().position(|p| p.id == id))
                })
                .collect(),
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

    /// The jobs the salary table gives pay for (see `paid_jobs`); empty without bands.
    pub fn paid_jobs(&self) -> &[String] {
        &self.paid_jobs
    }

    /// Whether `word` (lowercase) is "salary" or one of the base's one-word names for it.
    pub fn is_pay_word(&self, word: &str) -> bool {
        let word = singular(word);
        self.pay_words.iter().any(|pay| *pay == [word.as_str()])
    }

    /// Whether `question` is about pay: it uses "salary" or one of the base's words for it.
    pub fn asks_pay(&self, question: &str) -> bool {
        let words = phrase(question);
        self.pay_words
            .iter()
            .any(|pay| (0..words.len()).any(|i| words[i..].starts_with(pay)))
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

    /// The band a question about pay names by its level or an alias. A name of two words or
    /// more ("entry level", "new grad") counts anywhere in the question; a one-word alias
    /// only next to the pay word ("fresher salary", "salary of a senior"), since "top",
    /// "lead" or "beginner" elsewhere ("top skills that raise your salary") name no band.
    /// Two bands named ("entry vs senior level pay") point at neither: the question
    /// compares them.
    fn named_band(&self, question: &str) -> Option<usize> {
        let words: Vec<String> = plain_words(question)
            .split(' ')
            .filter(|w| !matches!(*w, "a" | "an" | "the" | "of" | "for" | "at" | "as" | "my"))
            .map(str::to_string)
            .collect();
        // Word indices next to a pay word or phrase.
        let mut beside_pay: Vec<usize> = Vec::new();
        for pay in &self.pay_words {
            for start in 0..words.len() {
                if words[start..].starts_with(pay) {
                    beside_pay.extend(start.checked_sub(1));
                    beside_pay.push(start + pay.len());
                }
            }
        }
        if beside_pay.is_empty() {
            return None;
        }
        let names_band = |names: &[Vec<String>]| {
            names.iter().any(|name| match name.as_slice() {
                [one] => beside_pay.iter().any(|&i| words.get(i) == Some(one)),
                _ => (0..words.len()).any(|i| words[i..].starts_with(name)),
            })
        };
        let mut named = self
            .band_names
            .iter()
            .filter(|(names, _)| names_band(names));
        match (named.next(), named.next()) {
            (Some((_, ord)), None) => *ord,
            _ => None,
        }
    }
}

/// "salary" and the variants the base's synonyms give it ("pay", "take home"), as plain
/// singular words.
fn pay_words(kb: &KnowledgeBase) -> Vec<Vec<String>> {
    std::iter::once("salary")
        .chain(
            kb.synonyms
                .iter()
                .filter(|s| s.canonical == "salary")
                .flat_map(|s| s.variants.iter().map(String::as_str)),
        )
        .map(phrase)
        .filter(|p| !p.is_empty())
        .collect()
}

/// `text` as a list of plain singular words ([`plain_words`]); empty when it has none.
fn phrase(text: &str) -> Vec<String> {
    plain_words(text)
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
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

    /// What `question` points at in `kb`, each passage shown by `show`.
    fn pointed(
        kb: &KnowledgeBase,
        question: &str,
        show: impl Fn(&crate::knowledge::Passage) -> String,
    ) -> Vec<String> {
        Pointers::build(kb)
            .pointed_at(question)
            .into_iter()
            .map(|o| show(&kb.passages[o]))
            .collect()
    }

    #[test]
    fn a_numbered_section_named_in_the_question_is_pointed_at() {
        let kb = base();
        let title = |q: &str| pointed(&kb, q, |p| p.title.clone());
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
        let ids = |q: &str| pointed(&kb, q, |p| p.id.clone());
        let entry = ids("entry-level salary?");
        assert_eq!(entry.len(), 1, "{entry:?}");
        assert!(entry[0].contains("entry"), "{entry:?}");
        assert_eq!(ids("package for Freshers?"), entry);
        assert_eq!(
            ids("what is the salary of an entry level ML architect"),
            entry
        );
        assert!(ids("salaries for leads")[0].contains("senior"));
        // A one-word alias away from the pay word names no band.
        assert!(ids("what should a junior learn first to raise their salary").is_empty());
        assert!(ids("how do leads negotiate pay").is_empty());
        // Years stated decide over a level named.
        assert!(ids("junior pay with 8 years")[0].contains("senior"));
        // Not about pay; two bands named.
        assert!(ids("what should a junior learn first").is_empty());
        assert!(ids("entry level vs senior level pay").is_empty());
    }

    #[test]
    fn plurals_are_read_roughly() {
        assert_eq!(singular("salaries"), "salary");
        assert_eq!(singular("packages"), "package");
        assert_eq!(singular("class"), "class");
        assert_eq!(singular("its"), "its");
        assert_eq!(singular("résumés"), "résumé");
        assert_eq!(plain_words("Entry-level FRESHERS?"), "entry level fresher");
    }
}
