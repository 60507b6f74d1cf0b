//! What kind of fact a short question asks for (a price, a percentage, a date, a count of
//! hours or weeks), and whether a passage states one.
//!
//! Why: a question can be about a topic the base covers and still ask for a figure the base
//! never gives. "How much does the GUVI course cost?" is about a course the base
//! recommends, and both retrievals find that course; "what % of ML architects are women"
//! finds the salary overview; "how many hours a day should I study in phase 0" finds phase 0.
//! Showing those passages answers a different question. When the question asks for a kind
//! of figure and the passage it would be answered with states none of that kind, the honest
//! answer is "I don't know".
//!
//! Only the shape of the question is read, never its topic, so the rule is the same for
//! every knowledge base: moderators who add a course's price make such questions answered
//! with no change here. The patterns are narrow on purpose: "should I worry about cloud
//! costs" asks no price, "how many years until I'm an architect" asks for years and the
//! timeline passages state them.

use std::sync::OnceLock;

use regex::Regex;

use super::fuse::Decision;

/// A kind of fact a question asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// "what's the fee", "how much does it cost".
    Price,
    /// "what %", "what percentage".
    Percentage,
    /// "deadline", "what year".
    Date,
    /// "how many hours / weeks / ...": a length of time in that unit.
    Count(TimeUnit),
}

/// The unit a "how many ..." question counts time in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Minutes,
    Hours,
    Days,
    Weeks,
    Months,
    Years,
}

impl TimeUnit {
    fn of(word: &str) -> Option<TimeUnit> {
        Some(match word.trim_end_matches('s') {
            "minute" => TimeUnit::Minutes,
            "hour" => TimeUnit::Hours,
            "day" => TimeUnit::Days,
            "week" => TimeUnit::Weeks,
            "month" => TimeUnit::Months,
            "year" => TimeUnit::Years,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            TimeUnit::Minutes => "minute",
            TimeUnit::Hours => "hour",
            TimeUnit::Days => "day",
            TimeUnit::Weeks => "week",
            TimeUnit::Months => "month",
            TimeUnit::Years => "year",
        }
    }
}

fn pattern(cell: &'static OnceLock<Regex>, source: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(source).expect("static pattern"))
}

fn asks_price() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    pattern(
        &P,
        r"(?i)\b(?:fees?|prices?|pricing|tuition)\b|\bhow much (?:is|are|does|do|would|will)\b[^.?!]*\bcosts?\b|\bwhat (?:does|do|would|will)\b[^.?!]*\bcost\b",
    )
}

fn asks_percentage() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    pattern(&P, r"(?i)%|\bpercent(?:age)?\b")
}

fn asks_date() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    pattern(&P, r"(?i)\b(?:deadlines?|(?:what|which) (?:date|year))\b")
}

fn asks_count() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    pattern(
        &P,
        r"(?i)\bhow many (minutes?|hours?|days?|weeks?|months?|years?)\b",
    )
}

fn states_price() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    pattern(
        &P,
        r"(?i)[₹$€£]|\b(?:inr|usd|rs\.?|rupees?|lakhs?|crores?|lpa|free)\b",
    )
}

/// A year, or a month's name ("May" is left out: "you may need" is no date).
fn states_date() -> &'static Regex {
    static P: OnceLock<Regex> = OnceLock::new();
    pattern(
        &P,
        r"(?i)\b(?:1[89]|20)\d\d\b|\b(?:january|february|march|april|june|july|august|september|october|november|december)\b",
    )
}

impl Wanted {
    /// The kind of fact `question` asks for, if it asks for one. The first kind found
    /// wins: "what % of the fee" asks for a percentage.
    pub fn of_question(question: &str) -> Option<Wanted> {
        if asks_percentage().is_match(question) {
            return Some(Wanted::Percentage);
        }
        if asks_price().is_match(question) {
            return Some(Wanted::Price);
        }
        if asks_date().is_match(question) {
            return Some(Wanted::Date);
        }
        let unit = asks_count().captures(question)?;
        TimeUnit::of(&unit[1].to_lowercase()).map(Wanted::Count)
    }

    /// Whether `text` states a fact of this kind.
    pub fn stated_in(self, text: &str) -> bool {
        match self {
            Wanted::Price => states_price().is_match(text),
            Wanted::Percentage => asks_percentage().is_match(text),
            Wanted::Date => states_date().is_match(text),
            Wanted::Count(unit) => text
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| TimeUnit::of(&w.to_lowercase()) == Some(unit)),
        }
    }

    /// The kind in a few words, for a refusal's reason.
    pub fn describe(self) -> String {
        match self {
            Wanted::Price => "a price".into(),
            Wanted::Percentage => "a percentage".into(),
            Wanted::Date => "a date".into(),
            Wanted::Count(unit) => format!("a number of {}s", unit.word()),
        }
    }
}

/// The refusal of a short question that asks for a kind of fact its best passage (titled
/// `title`) does not state.
pub fn refusal(wanted: Wanted, title: &str, unknown_share: f32) -> Decision {
    Decision {
        answered: false,
        reason: format!(
            "refused: the question asks for {}, and the passage nearest to it (\"{title}\") states none",
            wanted.describe()
        ),
        unknown_share,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_a_question_asks_for() {
        let cases = [
            ("whats the fee for the GUVI course", Some(Wanted::Price)),
            (
                "How much does the AI & ML course cost?",
                Some(Wanted::Price),
            ),
            ("what does a NeurIPS ticket cost", Some(Wanted::Price)),
            (
                "what % of ML architects are women",
                Some(Wanted::Percentage),
            ),
            (
                "What percentage of projects fail?",
                Some(Wanted::Percentage),
            ),
            ("when is the submission deadline", Some(Wanted::Date)),
            ("What year was the book published?", Some(Wanted::Date)),
            (
                "How many hours a day should I study?",
                Some(Wanted::Count(TimeUnit::Hours)),
            ),
            ("how many WEEKS is it", Some(Wanted::Count(TimeUnit::Weeks))),
            // Topics, not asked-for figures.
            ("should I worry about cloud costs?", None),
            ("how much do ML architects earn", None),
            ("how much math do I need", None),
            ("when should I start learning MLOps", None),
            ("how many phases are there", None),
            ("is the price of failure high", Some(Wanted::Price)),
        ];
        for (question, wanted) in cases {
            assert_eq!(Wanted::of_question(question), wanted, "{question}");
        }
    }

    #[test]
    fn reads_whether_a_passage_states_it() {
        assert!(Wanted::Price.stated_in("Entry level: ₹10-18 LPA"));
        assert!(Wanted::Price.stated_in("The course is free to audit."));
        assert!(!Wanted::Price.stated_in("A certified course with mentorship and projects."));
        assert!(
            !Wanted::Price.stated_in("freedom to choose"),
            "a whole word only"
        );
        assert!(Wanted::Percentage.stated_in("about 80% of models never ship"));
        assert!(!Wanted::Percentage.stated_in("most models never ship"));
        assert!(Wanted::Date.stated_in("salaries in India (2025)"));
        assert!(Wanted::Date.stated_in("applications close in March"));
        assert!(!Wanted::Date.stated_in("Phase 0 takes 0-6 months"));
        let hours = Wanted::Count(TimeUnit::Hours);
        assert!(hours.stated_in("Study two hours a day."));
        assert!(!hours.stated_in("Phase 0 takes 0-6 months"));
        assert!(Wanted::Count(TimeUnit::Months).stated_in("Phase 0 takes 0-6 months"));
        assert!(Wanted::Count(TimeUnit::Years).stated_in("Year 4+: architect"));
    }
}
