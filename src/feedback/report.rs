//! The moderators' report: what was asked, what was answered, what people thought, and what
//! to write next (refused questions grouped by meaning), plus its export as eval cases.

use serde::Serialize;
use sqlx::Row as _;

use super::{Store, StoreError};

/// How much of the store a report covers, and how much of it it lists.
#[derive(Debug, Clone, Copy)]
pub struct ReportOptions {
    /// Only what happened in the last this many days.
    pub since_days: u32,
    /// "Now", Unix milliseconds (tests pin it).
    pub now_ms: i64,
    /// Longest list of unanswered groups and of passages.
    pub top: usize,
    /// Only this guild's questions (a moderator's `/report`); `None`: every guild (the CLI).
    pub guild_id: Option<i64>,
}

impl ReportOptions {
    pub fn last_days(since_days: u32) -> ReportOptions {
        ReportOptions {
            since_days,
            now_ms: super::now_ms(),
            top: 10,
            guild_id: None,
        }
    }

    fn since_ms(&self) -> i64 {
        self.now_ms - i64::from(self.since_days) * DAY_MS
    }
}

const DAY_MS: i64 = 86_400_000;

/// Two refused questions whose embeddings are at least this similar (cosine) are one group:
/// rewordings of one question ("who won the 2011 world cup" / "who won the world cup in
/// 2011?") sit above 0.8 with the shipped model, different questions on one topic below.
pub const GROUP_SIMILARITY: f32 = 0.8;
/// Without embeddings: the share of words two questions must have in common.
const GROUP_WORD_OVERLAP: f32 = 0.75;

/// The report `careerbot report --json` prints.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub since_days: u32,
    pub asked: u64,
    pub answered: u64,
    pub refused: u64,
    pub helpful: u64,
    pub not_helpful: u64,
    /// Refused questions, grouped, most asked first.
    pub unanswered: Vec<QuestionCount>,
    /// Refused questions from guilds that keep question text out of the store.
    pub unanswered_without_text: u64,
    /// Questions refused because they are about a topic `not-covered.toml` lists, per
    /// topic, most asked first (not in `unanswered`: the moderators chose not to cover
    /// these; a topic asked often may be worth a section after all).
    pub not_covered: Vec<TopicCount>,
    /// Questions whose answers were voted not helpful, grouped, most votes first.
    pub not_helpful_questions: Vec<QuestionCount>,
    /// The passages shown first in answers voted not helpful, most votes first.
    pub not_helpful_passages: Vec<PassageCount>,
    /// Oldest first; days with no questions are left out.
    pub per_day: Vec<Day>,
    /// How questions were grouped: "embeddings" or "words".
    pub grouping: &'static str,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct QuestionCount {
    /// The most asked wording of the group.
    pub question: String,
    pub count: u64,
    /// Every distinct wording in the group (the first is `question`).
    pub wordings: Vec<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TopicCount {
    /// The topic's name in `not-covered.toml` when the question was asked.
    pub topic: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PassageCount {
    pub id: String,
    pub title: String,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Day {
    /// `YYYY-MM-DD`, UTC.
    pub day: String,
    pub asked: u64,
    pub answered: u64,
    pub answer_rate: f64,
}

/// Embeds questions for grouping (the engine's model); `None` when it cannot.
pub type Embed<'a> = &'a (dyn Fn(&[String]) -> Option<Vec<Vec<f32>>> + Sync);

/// An [`Embed`] over the engine's sentence model: `None` without a model, or when the
/// model fails (grouping then falls back to shared words).
pub fn model_embedder(
    model: Option<&crate::search::SemanticModel>,
) -> impl Fn(&[String]) -> Option<Vec<Vec<f32>>> + Sync + '_ {
    move |texts: &[String]| {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        model?.embedder.embed(&refs).ok()
    }
}

/// Most distinct questions a report groups (the most asked): grouping embeds each one.
const MOST_QUESTIONS: i64 = 500;

/// What a report reads from the store, before questions are grouped.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    since_days: u32,
    top: usize,
    asked: u64,
    answered: u64,
    without_text: u64,
    helpful: u64,
    not_helpful: u64,
    refused_questions: Vec<(String, u64)>,
    not_covered: Vec<TopicCount>,
    unhelpful_questions: Vec<(String, u64)>,
    passages: Vec<PassageCount>,
    per_day: Vec<Day>,
}

/// The queries, `$1` the start of the window and `$2` the guild (negative: every guild).
/// Votes belong to the guild of the answer they are about.
const TOTALS: &str = "SELECT COUNT(*), COALESCE(SUM(CASE WHEN answered THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN answered OR question IS NOT NULL OR not_covered IS NOT NULL THEN 0 ELSE 1 END), 0)
    FROM answers WHERE asked_at >= $1 AND ($2 < 0 OR guild_id = $2)";
const VOTES: &str = "SELECT COALESCE(SUM(CASE WHEN v.helpful THEN 1 ELSE 0 END), 0),
        COALESCE(SUM(CASE WHEN v.helpful THEN 0 ELSE 1 END), 0)
    FROM votes v LEFT JOIN answers a ON a.id = v.answer_id
    WHERE v.voted_at >= $1 AND ($2 < 0 OR a.guild_id = $2)";
const REFUSED: &str = "SELECT question, COUNT(*) FROM answers
    WHERE asked_at >= $1 AND ($2 < 0 OR guild_id = $2) AND NOT answered AND question IS NOT NULL
        AND not_covered IS NULL
    GROUP BY question ORDER BY COUNT(*) DESC, question LIMIT $3";
const NOT_COVERED: &str = "SELECT not_covered, COUNT(*) FROM answers
    WHERE asked_at >= $1 AND ($2 < 0 OR guild_id = $2) AND NOT answered AND not_covered IS NOT NULL
    GROUP BY not_covered ORDER BY COUNT(*) DESC, not_covered LIMIT $3";
const UNHELPFUL: &str = "SELECT a.question, COUNT(*) FROM votes v JOIN answers a ON a.id = v.answer_id
    WHERE v.voted_at >= $1 AND ($2 < 0 OR a.guild_id = $2) AND NOT v.helpful AND a.question IS NOT NULL
    GROUP BY a.question ORDER BY COUNT(*) DESC, a.question LIMIT $3";
/// The passage a vote is about: the one its button carried, else the answer's first.
const PASSAGES: &str =
    "SELECT COALESCE(v.passage_id, a.top_passage, ''), COALESCE(MAX(a.top_title), ''), COUNT(*)
    FROM votes v LEFT JOIN answers a ON a.id = v.answer_id
    WHERE v.voted_at >= $1 AND ($2 < 0 OR a.guild_id = $2) AND NOT v.helpful
    GROUP BY COALESCE(v.passage_id, a.top_passage, '')";
const PER_DAY: &str =
    "SELECT asked_at / 86400000, COUNT(*), COALESCE(SUM(CASE WHEN answered THEN 1 ELSE 0 END), 0)
    FROM answers WHERE asked_at >= $1 AND ($2 < 0 OR guild_id = $2) GROUP BY asked_at / 86400000";

fn count(row: &sqlx::any::AnyRow, i: usize) -> Result<u64, StoreError> {
    let n: i64 = row.try_get(i)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Reads what the report needs (the database part; grouping is [`Rows::report`]).
pub async fn fetch(store: &Store, options: ReportOptions) -> Result<Rows, StoreError> {
    let since = options.since_ms();
    let guild = options.guild_id.unwrap_or(-1);
    let query = |sql: &'static str| store.report_rows(sql, since, guild, MOST_QUESTIONS);
    let totals = query(TOTALS).await?;
    let votes = query(VOTES).await?;
    let (asked, answered, without_text) = match totals.first() {
        Some(row) => (count(row, 0)?, count(row, 1)?, count(row, 2)?),
        None => (0, 0, 0),
    };
    let (helpful, not_helpful) = match votes.first() {
        Some(row) => (count(row, 0)?, count(row, 1)?),
        None => (0, 0),
    };
    let questions = |rows: Vec<sqlx::any::AnyRow>| -> Result<Vec<(String, u64)>, StoreError> {
        rows.iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, count(r, 1)?)))
            .collect()
    };
    let refused_questions = questions(query(REFUSED).await?)?;
    let mut not_covered = questions(query(NOT_COVERED).await?)?
        .into_iter()
        .map(|(topic, count)| TopicCount { topic, count })
        .collect::<Vec<_>>();
    not_covered.truncate(options.top);
    let unhelpful_questions = questions(query(UNHELPFUL).await?)?;
    let mut passages = query(PASSAGES)
        .await?
        .iter()
        .map(|r| {
            Ok(PassageCount {
                id: r.try_get(0)?,
                title: r.try_get(1)?,
                count: count(r, 2)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    // A vote whose answer row never arrived (dropped) and whose button carried no passage.
    passages.retain(|p| !p.id.is_empty());
    passages.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.id.cmp(&b.id)));
    passages.truncate(options.top);
    let mut per_day = query(PER_DAY)
        .await?
        .iter()
        .map(|r| {
            let day: i64 = r.try_get(0)?;
            let (asked, answered) = (count(r, 1)?, count(r, 2)?);
            Ok(Day {
                day: civil_date(day),
                asked,
                answered,
                answer_rate: if asked == 0 {
                    0.0
                } else {
                    answered as f64 / asked as f64
                },
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    per_day.sort_by(|a, b| a.day.cmp(&b.day));
    Ok(Rows {
        since_days: options.since_days,
        top: options.top,
        asked,
        answered,
        without_text,
        helpful,
        not_helpful,
        refused_questions,
        not_covered,
        unhelpful_questions,
        passages,
        per_day,
    })
}

impl Rows {
    /// Groups the questions (CPU work when `embed` runs the model: call it off the async
    /// workers) and makes the report.
    pub fn report(self, embed: Option<Embed<'_>>) -> Report {
        let (mut unanswered, by_refused) = group_questions(self.refused_questions, embed);
        let (mut not_helpful_questions, by_unhelpful) =
            group_questions(self.unhelpful_questions, embed);
        unanswered.truncate(self.top);
        not_helpful_questions.truncate(self.top);
        let grouping = if by_refused == "words" || by_unhelpful == "words" {
            "words"
        } else {
            "embeddings"
        };
        Report {
            since_days: self.since_days,
            asked: self.asked,
            answered: self.answered,
            refused: self.asked.saturating_sub(self.answered),
            helpful: self.helpful,
            not_helpful: self.not_helpful,
            unanswered,
            unanswered_without_text: self.without_text,
            not_covered: self.not_covered,
            not_helpful_questions,
            not_helpful_passages: self.passages,
            per_day: self.per_day,
            grouping,
        }
    }
}

/// Reads the report out of `store` (the CLI; the bot fetches and groups in two steps).
pub async fn build(
    store: &Store,
    options: ReportOptions,
    embed: Option<Embed<'_>>,
) -> Result<Report, StoreError> {
    Ok(fetch(store, options).await?.report(embed))
}

/// Groups questions that say the same thing: by embedding similarity when `embed` works,
/// else by shared words. Greedy, most asked first: each question joins the first group whose
/// leading question it is close to. Returns the groups, most asked first, and how.
pub fn group_questions(
    mut questions: Vec<(String, u64)>,
    embed: Option<Embed<'_>>,
) -> (Vec<QuestionCount>, &'static str) {
    questions.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let texts: Vec<String> = questions.iter().map(|(q, _)| q.clone()).collect();
    let vectors = embed
        .and_then(|f| f(&texts))
        .filter(|v| v.len() == texts.len());
    let by = if vectors.is_some() {
        "embeddings"
    } else {
        "words"
    };
    let words: Vec<Vec<String>> = texts.iter().map(|t| word_set(t)).collect();
    let close = |i: usize, j: usize| match &vectors {
        Some(v) => crate::embed::cosine(&v[i], &v[j]) >= GROUP_SIMILARITY,
        None => overlap(&words[i], &words[j]) >= GROUP_WORD_OVERLAP,
    };
    // (leader index, group)
    let mut groups: Vec<(usize, QuestionCount)> = Vec::new();
    for (i, (question, n)) in questions.into_iter().enumerate() {
        match groups.iter_mut().find(|(leader, _)| close(*leader, i)) {
            Some((_, g)) => {
                g.count += n;
                g.wordings.push(question);
            }
            None => groups.push((
                i,
                QuestionCount {
                    question: question.clone(),
                    count: n,
                    wordings: vec![question],
                },
            )),
        }
    }
    let mut out: Vec<QuestionCount> = groups.into_iter().map(|(_, g)| g).collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.question.cmp(&b.question))
    });
    (out, by)
}

/// Lowercased words, sorted and de-duplicated.
fn word_set(text: &str) -> Vec<String> {
    let mut words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    words
}

/// Shared words over the larger set's size (1.0: the same words).
fn overlap(a: &[String], b: &[String]) -> f32 {
    let larger = a.len().max(b.len());
    if larger == 0 {
        return 1.0;
    }
    let shared = a.iter().filter(|w| b.binary_search(w).is_ok()).count();
    shared as f32 / larger as f32
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (proleptic Gregorian, the civil-from-days method).
fn civil_date(days: i64) -> String {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

impl Report {
    /// The report as text, for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "Last {} days: {} asked, {} answered, {} refused; {} helpful, {} not helpful\n",
            self.since_days,
            self.asked,
            self.answered,
            self.refused,
            self.helpful,
            self.not_helpful
        );
        let list = |out: &mut String, head: &str, items: &[QuestionCount]| {
            if items.is_empty() {
                return;
            }
            out.push_str(&format!("\n{head}\n"));
            for q in items {
                out.push_str(&format!("  {:>4}  {}\n", q.count, q.question));
                for other in q.wordings.iter().skip(1).take(3) {
                    out.push_str(&format!("        also: {other}\n"));
                }
            }
        };
        list(
            &mut out,
            &format!("Unanswered questions (grouped by {}):", self.grouping),
            &self.unanswered,
        );
        if self.unanswered_without_text > 0 {
            out.push_str(&format!(
                "  ({} more refused where the server keeps question text private)\n",
                self.unanswered_without_text
            ));
        }
        if !self.not_covered.is_empty() {
            out.push_str("\nRefused as not covered (knowledge/not-covered.toml):\n");
            for t in &self.not_covered {
                out.push_str(&format!("  {:>4}  {}\n", t.count, t.topic));
            }
        }
        list(
            &mut out,
            "Answers voted not helpful:",
            &self.not_helpful_questions,
        );
        if !self.not_helpful_passages.is_empty() {
            out.push_str("\nPassages voted not helpful:\n");
            for p in &self.not_helpful_passages {
                out.push_str(&format!("  {:>4}  {} ({})\n", p.count, p.title, p.id));
            }
        }
        if !self.per_day.is_empty() {
            out.push_str("\nAnswer rate per day:\n");
            for d in &self.per_day {
                out.push_str(&format!(
                    "  {}  {:>3.0}%  ({} of {})\n",
                    d.day,
                    d.answer_rate * 100.0,
                    d.answered,
                    d.asked
                ));
            }
        }
        out
    }

    /// The unanswered and not-helpful questions as eval cases for the moderator to finish:
    /// one JSON line each, `expect` holding the placeholder `careerbot eval` refuses until
    /// it is replaced (by regexes the right answer contains, or `[]` for "should be refused").
    pub fn eval_skeleton(&self) -> String {
        let mut out = String::new();
        let mut seen = std::collections::HashSet::new();
        let groups = self.unanswered.iter().map(|g| (g, "unanswered")).chain(
            self.not_helpful_questions
                .iter()
                .map(|g| (g, "not-helpful")),
        );
        for (group, kind) in groups {
            if !seen.insert(group.question.clone()) {
                continue;
            }
            let line = serde_json::json!({
                "q": group.question,
                "expect": [crate::eval::EXPECT_PLACEHOLDER],
                "kind": kind,
            });
            out.push_str(&line.to_string());
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(20_419), "2025-11-27");
        assert_eq!(civil_date(11_016), "2000-02-29");
        assert_eq!(civil_date(-1), "1969-12-31");
    }

    #[test]
    fn word_grouping_joins_rewordings_only() {
        let (groups, by) = group_questions(
            vec![
                ("who won the cricket world cup".into(), 2),
                ("Who won the cricket world cup?".into(), 1),
                ("best pizza in town".into(), 1),
            ],
            None,
        );
        assert_eq!(by, "words");
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].question, "who won the cricket world cup");
        assert_eq!(groups[0].count, 3);
        assert_eq!(groups[1].count, 1);
    }

    #[test]
    fn embedding_grouping_uses_the_vectors() {
        let embed = |texts: &[String]| -> Option<Vec<Vec<f32>>> {
            Some(
                texts
                    .iter()
                    .map(|t| {
                        if t.contains('a') {
                            vec![1.0, 0.0]
                        } else {
                            vec![0.0, 1.0]
                        }
                    })
                    .collect(),
            )
        };
        let (groups, by) = group_questions(
            vec![("a x".into(), 1), ("b y".into(), 1), ("a z".into(), 1)],
            Some(&embed),
        );
        assert_eq!(by, "embeddings");
        assert_eq!(groups[0].count, 2);
        assert_eq!(
            groups[0].wordings,
            vec!["a x".to_string(), "a z".to_string()]
        );
    }
}
