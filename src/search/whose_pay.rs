//! Whose pay a short question asks about: "what's the average data scientist salary",
//! "how much does a data analyst earn" ask about another job than the one the base is
//! about, and its pay figures do not answer them.
//!
//! Why: both retrievals find the base's salary bands for any question about pay, and a
//! sentence-embedding model scores "data scientist salary in India" as close to "ML
//! architect salary in India" as the base's own wording: only the job differs. The base's
//! subject is read from the base, not written here: the job its salary table is titled for
//! ("Machine Learning Architect salaries": "architect"; no salary bands, no rule), and its
//! identity words (in half the passages or more; "ML" and "architect" in the shipped one).
//! A question about pay in which a job word (`lexical::is_job_word`) stands right next to a
//! pay word (the base's words for "salary"), in one clause, and none of the subject's words
//! appear, asks another job's pay. Anywhere else a job is most
//! often the asker's own or someone else's they quote, and the pay asked may be the
//! subject's; those questions are left alone.
//!
//! On the eight calibration sets (eleventh session) this refused four near-domain questions
//! ("How much does a data analyst earn in India on average?", "what is the salary of an
//! MLOps engineer in India?") and no question the base answers. A first version, with any
//! job word anywhere, wrongly refused about half of a reviewer's 66 pay questions the base
//! answers ("I have 4 years as a data engineer, what pay can I expect?"). English only.

use super::lexical::is_job_word;

/// Words between a pay word and the job it is of: "salary *of an* MLOps engineer".
const OF_WORDS: &[&str] = &["of", "for", "a", "an", "the"];

/// Words before a job that make it the asker's ("as engineer", "i'm engineer") or someone's
/// they speak of ("my manager"), not the job whose pay is asked.
const NOT_QUALIFIERS: &[&str] = &[
    "as", "i'm", "im", "am", "was", "been", "my", "our", "your", "his", "her", "their",
];

/// The other job a question about pay asks the pay of ("data scientist"): a job word right
/// next to a pay word ("data scientist salary", "a data analyst earn", "salary of an MLOps
/// engineer"), in a question with no word of the base's subject. `None` when it names none.
/// `is_subject` and `is_pay` judge one lowercase word.
///
/// Narrow on purpose: a job anywhere else is most often the asker's ("I have 4 years as a
/// data engineer, what pay can I expect?") or someone quoted ("my manager said seniors get
/// 40 LPA"), and a question with the subject's words in it ("what would a data analyst earn
/// as an ML architect") may ask the subject's pay.
pub fn other_job(
    question: &str,
    mut is_subject: impl FnMut(&str) -> bool,
    is_pay: impl Fn(&str) -> bool,
) -> Option<String> {
    let lower = question.to_lowercase().replace('’', "'");
    // One clause at a time: "I'm a data engineer, salary after switching?" names the
    // asker's job, then asks.
    let clauses: Vec<Vec<&str>> = lower
        .split(['.', ',', ';', ':', '?', '!', '(', ')'])
        .map(|clause| {
            clause
                .split(|c: char| !(c.is_alphanumeric() || c == '\''))
                .filter(|w| !w.is_empty())
                .map(|w| w.trim_end_matches("'s"))
                .collect()
        })
        .collect();
    if clauses.iter().flatten().any(|w| is_subject(w)) {
        return None;
    }
    clauses.iter().find_map(|words| job_paid_in(words, &is_pay))
}

/// The job a clause's `words` ask the pay of, by a job word next to a pay word.
fn job_paid_in(words: &[&str], is_pay: &impl Fn(&str) -> bool) -> Option<String> {
    (0..words.len())
        .filter(|&i| is_job_word(words[i]))
        .find_map(|i| {
            let paid_after = words.get(i + 1).is_some_and(|w| is_pay(w));
            // Back from the job over its qualifier and "of a": "salary of an MLOps engineer".
            let mut j = i.checked_sub(1);
            let mut qualifier = None;
            if let Some(k) = j.filter(|&k| !OF_WORDS.contains(&words[k]) && !is_pay(words[k])) {
                // "as engineer", "my manager": the asker's job, or someone they quote.
                if NOT_QUALIFIERS.contains(&words[k]) {
                    return None;
                }
                qualifier = Some(words[k]);
                j = k.checked_sub(1);
            }
            while let Some(k) = j.filter(|&k| OF_WORDS.contains(&words[k])) {
                j = k.checked_sub(1);
            }
            let paid_before = j.is_some_and(|k| k + 1 < i && is_pay(words[k]));
            let job = words[i].strip_suffix('s').unwrap_or(words[i]);
            (paid_after || paid_before).then(|| match qualifier {
                Some(q) => format!("{q} {job}"),
                None => job.to_string(),
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(question: &str) -> Option<String> {
        other_job(
            question,
            |w| matches!(w, "architect" | "architects" | "ml"),
            |w| matches!(w, "salary" | "salaries" | "earn" | "pay" | "package"),
        )
    }

    #[test]
    fn names_the_job_whose_pay_is_asked() {
        assert_eq!(
            job("What's the average data scientist salary in India?").as_deref(),
            Some("data scientist")
        );
        assert_eq!(
            job("how much does a data analyst earn").as_deref(),
            Some("data analyst")
        );
        assert_eq!(
            job("what is the salary of an MLOps engineer in India?").as_deref(),
            Some("mlops engineer")
        );
        assert_eq!(
            job("what's a data scientist's salary?").as_deref(),
            Some("data scientist")
        );
        assert_eq!(job("analyst pay?").as_deref(), Some("analyst"));
    }

    #[test]
    fn the_bases_subject_the_askers_job_or_a_quoted_one_is_no_other_job() {
        assert_eq!(job("ML architect salary in India"), None);
        assert_eq!(
            job("do ML architects earn more than data scientists?"),
            None
        );
        assert_eq!(
            job("I have 4 years as a data engineer, what pay can I expect?"),
            None
        );
        assert_eq!(job("my manager said seniors get a 40 LPA package"), None);
        assert_eq!(
            job("as a fresher data analyst what package can I expect"),
            None
        );
        assert_eq!(job("entry level salary"), None);
        assert_eq!(job("I'm a data engineer, salary after switching?"), None);
        assert_eq!(job("how much do I earn as engineer"), None);
        assert_eq!(
            job("what’s a data scientist’s salary?").as_deref(),
            Some("data scientist")
        );
    }
}
