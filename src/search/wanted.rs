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
//! costs" asks no price, "I got 75% in my masters" states a figure rather than asking for
//! one, "what year do I become an architect" asks about the timeline's years, and a
//! message that also asks something else is answered for the rest. A span of days to years
//! is answered by a span in any of those units ("how many months" by "3-5 years"); hours
//! and minutes (a day's study) need that unit.
//!
//! English only: a Hinglish question ("kitne ghante") is not read for its ask.
//!
//! Applied by the engines users get (hybrid, and lexical-only without a model), not by the
//! semantic-only comparison of `eval --compare`, which measures what the similarity alone
//! does.

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

regex_fn!(
    asks_price,
    r"(?i)\b(?:fees?|prices?|pricing|tuition)\b|\bhow much (?:is|are|does|do|would|will)\b[^.?!]*\bcosts?\b|\bwhat (?:does|do|would|will)\b[^.?!]*\bcost\b|\bwhat(?:'s|’s| is| are)\s+the\s+costs?\b|\bhow expensive\b"
);

regex_fn!(
    /// Asked, not stated: "what % of", "what's a normal hike percentage", "average hike %",
    /// "percentage of". A "%" after the user's own number ("I got 75% in my masters", "a 20%
    /// hike offer") is background.
    asks_percentage,
    r"(?i)\b(?:what(?:'s|’s|s)?|which|how much|how many|avg|average|typical|normal|usual)\s+(?:[^\W\d]\w*\s+){0,3}?(?:%|percent(?:age)?\b)|\bpercentage of\b"
);

regex_fn!(states_percentage, r"(?i)%|\bpercent");

regex_fn!(
    /// A calendar date: "deadline", "what date". Not "what year": a career's years are what
    /// the timeline is about ("what year do I become an architect" is answered by "Year 4+").
    asks_date,
    r"(?i)\b(?:deadlines?|(?:what|which) date|release date)\b"
);

regex_fn!(
    asks_count,
    r"(?i)\bhow many (minutes?|hours?|days?|weeks?|months?|years?)\b"
);

regex_fn!(
    /// A number with a unit of time next to it: "6-12 months", "3+ years", "two weeks".
    states_duration,
    r"(?i)\b(?:\d+(?:\s*[-–]\s*\d+)?\+?|one|two|three|four|five|six|seven|eight|nine|ten|twelve|a few|several)\s+(minutes?|hours?|days?|weeks?|months?|years?)\b"
);

regex_fn!(
    states_price,
    r"(?i)[₹$€£]|\b(?:inr|usd|rs\.?|rupees?|lakhs?|crores?|lpa|free)\b"
);

regex_fn!(
    /// A year, or a month's name ("May" is left out: "you may need" is no date).
    states_date,
    r"(?i)\b(?:1[89]|20)\d\d\b|\b(?:january|february|march|april|june|july|august|september|october|november|december)\b"
);

/// A question that also asks something else ("which courses do you recommend, and what are
/// their fees?") is answered for the rest: a separate ask after "?", ";", ", and", "also".
fn asks_more_than_one_thing(question: &str) -> bool {
    regex_fn!(parts, r"(?i)[?;]|,\s*(?:and|also|or)\b|\balso\b");
    parts()
        .split(question)
        .filter(|part| part.split_whitespace().count() >= 2)
        .count()
        > 1
}

impl Wanted {
    /// The kind of fact `question` asks for, if that is all it asks. The first kind found
    /// wins: "what % of the fee" asks for a percentage.
    pub fn of_question(question: &str) -> Option<Wanted> {
        let wanted = if asks_percentage().is_match(question) {
            Wanted::Percentage
        } else if asks_price().is_match(question) {
            Wanted::Price
        } else if asks_date().is_match(question) {
            Wanted::Date
        } else {
            let unit = asks_count().captures(question)?;
            Wanted::Count(TimeUnit::of(&unit[1].to_lowercase())?)
        };
        (!asks_more_than_one_thing(question)).then_some(wanted)
    }

    /// Whether `text` mentions a fact of this kind: a currency or "free" for a price, a
    /// "%" for a percentage, a year or a month for a date. For hours and minutes, that unit
    /// (how long a day's study takes is not in "6-12 months"); for longer spans, any number
    /// of days to years, since "3-5 years" answers "how many months".
    pub fn stated_in(self, text: &str) -> bool {
        match self {
            Wanted::Price => states_price().is_match(text),
            Wanted::Percentage => states_percentage().is_match(text),
            Wanted::Date => states_date().is_match(text),
            Wanted::Count(unit @ (TimeUnit::Hours | TimeUnit::Minutes)) => text
                .split(|c: char| !c.is_alphanumeric())
                .any(|w| TimeUnit::of(&w.to_lowercase()) == Some(unit)),
            Wanted::Count(_) => states_duration().is_match(text),
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

/// A kind of figure a question asked for, and the nearest passage, which states none.
#[derive(Debug, Clone, PartialEq)]
pub struct Unstated {
    /// In a few words: "a price", "a number of hours".
    pub asked_for: String,
    /// The nearest passage's title.
    pub nearest: String,
}

/// The refusal of a short question that asks for a kind of fact its best passage (titled
/// `title`) does not state, and what the refusal card tells the user.
pub fn refusal(wanted: Wanted, title: &str, unknown_share: f32) -> (Decision, Unstated) {
    let unstated = Unstated {
        asked_for: wanted.describe(),
        nearest: title.to_string(),
    };
    let decision = Decision {
        answered: false,
        reason: format!(
            "refused: the question asks for {}, and the passage nearest to it (\"{title}\") states none",
            unstated.asked_for
        ),
        unknown_share,
    };
    (decision, unstated)
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
            ("what's the cost of the GUVI course", Some(Wanted::Price)),
            ("how expensive is the course", Some(Wanted::Price)),
            (
                "what % of ML architects are women",
                Some(Wanted::Percentage),
            ),
            (
                "What percentage of projects fail?",
                Some(Wanted::Percentage),
            ),
            (
                "what's a normal hike percentage for engineers?",
                Some(Wanted::Percentage),
            ),
            ("avg hike % for engineers", Some(Wanted::Percentage)),
            ("I got a 20% hike offer, is that good?", None),
            ("got a normal 30 percent hike, what will I earn?", None),
            ("when is the submission deadline", Some(Wanted::Date)),
            (
                "How many hours a day should I study?",
                Some(Wanted::Count(TimeUnit::Hours)),
            ),
            ("how many WEEKS is it", Some(Wanted::Count(TimeUnit::Weeks))),
            // Topics, not asked-for figures.
            ("should I worry about cloud costs?", None),
            ("how do I reduce the cost of inference", None),
            ("how much do ML architects earn", None),
            ("how much math do I need", None),
            ("when should I start learning MLOps", None),
            ("how many phases are there", None),
            // The user's own figures.
            ("I got 75% in my masters, which books should I read", None),
            ("is a 20% hike normal for an entry level ML engineer", None),
            // A career's years, which the timeline gives.
            ("what year do I become an ML architect", None),
            // More than one ask: the rest is answered.
            (
                "which online courses do you recommend, and what are their fees?",
                None,
            ),
            (
                "What are the fees? Also which courses do you recommend?",
                None,
            ),
        ];
        for (question, wanted) in cases {
            assert_eq!(Wanted::of_question(question), wanted, "{question}");
        }
        // Known false positive: "price" as a topic still reads as asking for one.
        assert_eq!(
            Wanted::of_question("is the price of failure high"),
            Some(Wanted::Price)
        );
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
        // Longer spans in any unit: "how many months" is answered by "3-5 years".
        for unit in [
            TimeUnit::Days,
            TimeUnit::Weeks,
            TimeUnit::Months,
            TimeUnit::Years,
        ] {
            let count = Wanted::Count(unit);
            assert!(count.stated_in("Phase 0 takes 6-12 months"), "{unit:?}");
            assert!(count.stated_in("around 3-5 years in all"), "{unit:?}");
            assert!(count.stated_in("3+ years of experience"), "{unit:?}");
            assert!(!count.stated_in("Year 4+: architect"), "a label, no span");
            assert!(!count.stated_in("in the coming months"), "no number");
        }
    }
}
