//! Whose pay a short question asks about: "what's the average data scientist salary",
//! "how much does a data analyst earn" ask about another job than the one the base is
//! about, and its pay figures do not answer them.
//!
//! Why: both retrievals find the base's salary bands for any question about pay, and a
//! sentence-embedding model scores "data scientist salary in India" as close to "ML
//! architect salary in India" as the base's own wording: only the job differs. The base's
//! subject is read from the base, not written here: its identity words (in half the
//! passages or more; "architect" in the shipped one). A question about pay that names a job
//! (a word for one, below, with the word before it: "data scientist", "MLOps engineer") and
//! none that is the base's subject is about someone else's pay. A question in which the
//! asker says what they are ("I'm a data analyst, what would I earn?") is left alone: the
//! job there is where they start, and the pay asked may be the subject's.
//!
//! On the eight calibration sets (eleventh session) this refused four near-domain questions
//! ("How much does a data analyst earn in India on average?", "what is the salary of an
//! MLOps engineer in India?") and no question the base answers; none of their short pay
//! questions names another job. English job words only.

/// Words that name a job: what the question's job is called ("data *scientist*").
const JOB_WORDS: &[&str] = &[
    "analyst",
    "scientist",
    "engineer",
    "developer",
    "programmer",
    "intern",
    "manager",
    "designer",
    "tester",
    "consultant",
    "researcher",
    "administrator",
    "architect",
];

/// What the asker says about themselves: their job is background, not the question.
const ASKER_SAYS: &[&str] = &[
    "i'm", "i’m", "im", "am", "i've", "i’ve", "ive", "been", "work",
];

/// The other job a question about pay asks about ("data scientist"), given whether a word is
/// one of the base's identity words; `None` when it names none, names the base's subject,
/// or the asker describes themselves.
pub fn other_job(question: &str, mut is_identity: impl FnMut(&str) -> bool) -> Option<String> {
    let lower = question.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.iter().any(|w| ASKER_SAYS.contains(w)) {
        return None;
    }
    let mut jobs = Vec::new();
    for (i, word) in words.iter().enumerate() {
        let singular = word.strip_suffix('s').unwrap_or(word);
        if !JOB_WORDS.contains(&singular) {
            continue;
        }
        if is_identity(singular) {
            return None;
        }
        let before = i.checked_sub(1).and_then(|j| words.get(j));
        jobs.push(match before {
            Some(qualifier) => format!("{qualifier} {singular}"),
            None => singular.to_string(),
        });
    }
    jobs.into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(question: &str) -> Option<String> {
        other_job(question, |w| w == "architect")
    }

    #[test]
    fn names_the_job_whose_pay_is_asked() {
        assert_eq!(
            job("What's the average data scientist salary in India?").as_deref(),
            Some("data scientist")
        );
        assert_eq!(
            job("how much do MLOps engineers earn").as_deref(),
            Some("mlops engineer")
        );
        assert_eq!(job("analyst pay?").as_deref(), Some("analyst"));
    }

    #[test]
    fn the_bases_subject_or_the_askers_own_job_is_no_other_job() {
        assert_eq!(job("ML architect salary in India"), None);
        assert_eq!(
            job("do ML architects earn more than data scientists?"),
            None
        );
        assert_eq!(
            job("I'm a data analyst, what would I earn in 5 years?"),
            None
        );
        assert_eq!(job("entry level salary"), None);
    }
}
