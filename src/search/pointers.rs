//! What in a question points at one passage by itself: the years of experience it states
//! ("I have 4 years", matched to the salary band that covers them) and a numbered
//! section it names ("phase 0", "year 3-4", matched to the section titled so).
//!
//! Why: both retrievals read such a question by its shape. Every phase passage answers "how
//! long does phase N take", and the model hardly tells one digit from another, so "how long
//! is phase 0" ranked Phase 2 first; every salary band matches "salary with 4 years". The
//! number is what the question is about, so the passage it names is lifted
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

    /// The salary-band passage covering the years of experience stated in `question`.
    fn stated_band(&self, question: &str) -> Option<usize> {
        let years = years()
            .captures(question)
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().parse::<u32>().ok())?;
        self.bands
            .iter()
            .find(|(b, _)| b.covers_years(years))
            .and_then(|(_, ord)| *ord)
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
}
