//! Who and what a question's words are: names ("Google", "US") and the asker describing
//! themselves ("I'm a nurse"), which say where the asker stands, not what is asked.

use std::ops::Range;

/// Whether the word at `span` is written as a name: an acronym of letters ("US", "AWS") or
/// a capitalised word of 3+ letters inside a sentence ("Google" in "how does Google hire").
/// Never in a question written mostly in capitals ("HOW MUCH DO THEY MAKE"), never a single
/// letter ("I", the "B" of "B.Tech"), never a token with digits ("12LPA").
pub(super) fn written_as_name(question: &str, span: &Range<usize>) -> bool {
    let Some(original) = question.get(span.clone()) else {
        return false;
    };
    if !original.chars().all(char::is_alphabetic) {
        return false;
    }
    let letters = original.chars().count();
    let upper = original.chars().filter(|c| c.is_uppercase()).count();
    let question_letters = question.chars().filter(|c| c.is_alphabetic()).count();
    let question_upper = question.chars().filter(|c| c.is_uppercase()).count();
    if question_upper * 2 >= question_letters {
        return false;
    }
    if letters >= 2 && upper == letters {
        return true;
    }
    let starts_upper = original.chars().next().is_some_and(char::is_uppercase);
    let before = question[..span.start].trim_end();
    let sentence_start = before.is_empty() || before.ends_with(['.', '!', '?', ':', '\n']);
    letters >= 3 && starts_upper && !sentence_start
}

/// Whether the word starting at byte `at` follows "I'm", "from", "called"...: the asker
/// saying who they are ("I'm Priya from Pune"), not what they ask about.
pub(super) fn introduces_the_asker(question: &str, at: usize) -> bool {
    let before = question.get(..at).unwrap_or_default().to_lowercase();
    let previous = before
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .rfind(|w| !w.is_empty())
        .unwrap_or_default();
    matches!(
        previous,
        "i'm" | "i’m" | "im" | "am" | "from" | "called" | "named" | "name's"
    )
}

/// Whether the word starting at byte `at` tells what the asker is or was ("I'm a nurse",
/// "as a teacher", "I've been an accountant"): their background, not the question's topic.
pub(super) fn describes_the_asker(question: &str, at: usize) -> bool {
    if introduces_the_asker(question, at) {
        return true;
    }
    let before = question.get(..at).unwrap_or_default().to_lowercase();
    let mut words = before
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '’'))
        .filter(|w| !w.is_empty())
        .rev();
    let says = |word: &str| {
        matches!(
            word,
            "i'm" | "i’m" | "im" | "am" | "as" | "was" | "been" | "from"
        )
    };
    let article = |word: &str| matches!(word, "a" | "an");
    let mut previous = words.next().unwrap_or_default();
    // One word of what they are may come between the article and it: "I'm a data
    // analyst", not "I'm attending interviews".
    let mut qualified = false;
    if !article(previous) && !says(previous) {
        previous = words.next().unwrap_or_default();
        if !article(previous) {
            return false;
        }
        qualified = true;
    }
    if article(previous) {
        previous = words.next().unwrap_or_default();
    }
    // "a call from a Google recruiter" speaks of someone else.
    says(previous) && !(qualified && previous == "from")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_acronyms_or_capitalised_inside_a_sentence() {
        let q = "Salary in the US? How does Google hire for H-1B roles, I wonder";
        let name_at = |word: &str| {
            let start = q.find(word).unwrap();
            written_as_name(q, &(start..start + word.len()))
        };
        assert!(name_at("US") && name_at("Google"));
        assert!(!name_at("1B"), "digits");
        assert!(!name_at("Salary"), "sentence start");
        assert!(!name_at("How"), "after a question mark");
        assert!(!name_at("I"), "one letter");
        assert!(!name_at("hire") && !name_at("roles"));
        assert!(introduces_the_asker("I'm Priya from Pune", 14));
        assert!(introduces_the_asker("I'm Priya from Pune", 4));
        assert!(!introduces_the_asker("how does Google hire", 9));
        assert!(describes_the_asker("I'm a nurse, can I switch?", 6));
        assert!(describes_the_asker("as an accountant, can I switch?", 6));
        assert!(describes_the_asker(
            "I'm a data analyst, what would I earn?",
            11
        ));
        assert!(!describes_the_asker("I'm preparing for an interview", 21));
        assert!(!describes_the_asker("I'm attending interviews", 14));
        assert!(!describes_the_asker("a call from a Google recruiter", 21));
        assert!(describes_the_asker("I've been a data analyst", 17));
        assert!(!describes_the_asker("what interview questions", 5));
        let shouting = "HOW MUCH DO THEY PAY IN THE US";
        assert!(
            !written_as_name(shouting, &(4..8)),
            "a question in capitals has no names"
        );
    }
}
