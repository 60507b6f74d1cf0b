//! Hinglish: Hindi words typed in Latin letters inside an English question, read as English.
//!
//! Why: the shipped base is about careers in India, and people there ask the way they talk
//! ("fresher ko kitna milta hai", "kya maths zaruri hai ml architect ke liye"). The topic
//! words are English already (fresher, maths, ML architect); what is Hindi is the grammar
//! around them: question words, postpositions, "is", "must", "learn". The model was trained
//! on English and reads those as noise, and the lexical side counted them as unknown words
//! the base does not cover, which pushed such questions towards a refusal.
//!
//! So this is a closed list of that grammar, not of topics: question words, postpositions,
//! auxiliaries and the few verbs career questions are made of. The lexical side treats them
//! as function words ([`is_glossary_word`]); the model gets an English rendering of the
//! question as one more view of it ([`in_english`]), only when at least [`MIN_WORDS`] of
//! them appear, so an English question with one look-alike ("ka" in a name) is untouched.
//! Words that are also English words ("me", "to", "ho") are left out, except "ban"
//! ("become"), which career questions use far more than the English word.

/// Hindi word (as typed, lowercase) and its English rendering ("" for words that only
/// address or point: "yaar", "wala").
const GLOSSARY: &[(&str, &str)] = &[
    // Question words.
    ("kya", "what"),
    ("kitna", "how much"),
    ("kitni", "how much"),
    ("kitne", "how many"),
    ("kaise", "how"),
    ("kaisa", "how"),
    ("kaisi", "how"),
    ("kab", "when"),
    ("kyun", "why"),
    ("kyu", "why"),
    ("kaun", "who"),
    ("kaunsa", "which"),
    ("kaunsi", "which"),
    ("kaunse", "which"),
    ("konsa", "which"),
    ("konsi", "which"),
    ("kahan", "where"),
    ("kidhar", "where"),
    // "Is", postpositions, conjunctions.
    ("hai", "is"),
    ("hain", "are"),
    ("hota", "is"),
    ("hoti", "is"),
    ("hote", "are"),
    ("mein", "in"),
    ("ka", "of"),
    ("ki", "of"),
    ("ke", "of"),
    ("ko", "to"),
    ("se", "from"),
    ("liye", "for"),
    ("baad", "after"),
    ("pehle", "before"),
    ("aur", "and"),
    ("bhi", "also"),
    ("nahi", "not"),
    ("nahin", "not"),
    ("abhi", "now"),
    // The verbs and adjectives career questions are made of.
    ("zaruri", "necessary"),
    ("zaroori", "necessary"),
    ("jaruri", "necessary"),
    ("chahiye", "should"),
    ("padega", "must"),
    ("padegi", "must"),
    ("sikhna", "learn"),
    ("seekhna", "learn"),
    ("sikhu", "learn"),
    ("seekhu", "learn"),
    ("padhna", "study"),
    ("padhu", "study"),
    ("padhun", "study"),
    ("milta", "earn"),
    ("milti", "earn"),
    ("milega", "earn"),
    ("karna", "do"),
    ("karu", "do"),
    ("karun", "do"),
    ("banna", "become"),
    ("banne", "become"),
    ("banu", "become"),
    ("lagta", "takes"),
    ("lagega", "takes"),
    ("lagenge", "takes"),
    ("shuru", "start"),
    ("samajh", "understand"),
    ("batao", "tell"),
    ("accha", "good"),
    ("acha", "good"),
    ("achha", "good"),
    ("sahi", "right"),
    ("jaldi", "quickly"),
    ("kaam", "work"),
    ("naukri", "job"),
    ("saal", "years"),
    ("mahine", "months"),
    ("paisa", "money"),
    ("paise", "money"),
    ("farak", "difference"),
    ("fark", "difference"),
    ("farq", "difference"),
    ("dono", "both"),
    ("bina", "without"),
    ("nhi", "not"),
    ("krna", "do"),
    ("karni", "do"),
    ("karne", "do"),
    ("krne", "do"),
    ("sakte", "can"),
    ("sakta", "can"),
    ("sakti", "can"),
    ("seekhne", "learn"),
    ("sikhne", "learn"),
    ("bnne", "become"),
    // Also English, but "ban sakte" / "ban jaunga" (can become) is how the question is
    // asked; read as English it is corrected to "bands" and lands on the salary table.
    ("ban", "become"),
    ("bata", "tell"),
    ("btao", "tell"),
    ("aata", "comes"),
    ("aati", "comes"),
    ("alawa", "besides"),
    ("kuch", "some"),
    ("mera", "my"),
    ("meri", "my"),
    // Not an English word: a letter, typed for "hai" ("kitna milta h").
    ("h", "is"),
    ("toh", "so"),
    // Address and pointing: nothing to translate.
    ("yaar", ""),
    ("bhai", ""),
    ("wala", ""),
    ("wali", ""),
    ("wale", ""),
];

/// A question is read as Hinglish when it has at least this many glossary words.
pub const MIN_WORDS: usize = 2;

/// The English rendering of `word` (any case), if the glossary has it.
fn english_of(word: &str) -> Option<&'static str> {
    // Glossary words are short ASCII: anything else is not one, without lowercasing it.
    if word.len() > 8 || !word.is_ascii() {
        return None;
    }
    let mut lower = [0u8; 8];
    let lower = &mut lower[..word.len()];
    lower.copy_from_slice(word.as_bytes());
    lower.make_ascii_lowercase();
    let lower = std::str::from_utf8(lower).ok()?;
    GLOSSARY
        .iter()
        .find(|(hindi, _)| *hindi == lower)
        .map(|(_, english)| *english)
}

/// Whether `word` is one of the glossary's Hindi function words (called for every word
/// the lexical side reads, so it allocates nothing).
pub fn is_glossary_word(word: &str) -> bool {
    english_of(word).is_some()
}

/// The question with its Hindi function words in English, when it has at least
/// [`MIN_WORDS`] of them; `None` for any other question.
pub fn in_english(question: &str) -> Option<String> {
    let mut found = 0;
    let words: Vec<String> = question
        .split_whitespace()
        .filter_map(|token| {
            let core = token.trim_matches(|c: char| !c.is_alphanumeric());
            match english_of(core) {
                Some(english) => {
                    found += 1;
                    (!english.is_empty()).then(|| token.replacen(core, english, 1))
                }
                None => Some(token.to_string()),
            }
        })
        .collect();
    (found >= MIN_WORDS).then(|| words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hinglish_grammar_becomes_english_and_topics_stay() {
        assert_eq!(
            in_english("kya maths zaruri hai ml architect ke liye yaar").as_deref(),
            Some("what maths necessary is ml architect of for")
        );
        assert_eq!(
            in_english("fresher ko kitna milta hai??").as_deref(),
            Some("fresher to how much earn is??")
        );
        assert_eq!(
            in_english("ds aur ml architect me kya farak h").as_deref(),
            Some("ds and ml architect me what difference is")
        );
    }

    #[test]
    fn english_questions_are_left_alone() {
        assert_eq!(in_english("how much do ML architects earn?"), None);
        // One look-alike is not enough.
        assert_eq!(in_english("what did Ka Wai Lee write about MLOps"), None);
        assert!(!is_glossary_word("me") && !is_glossary_word("to"));
        assert!(is_glossary_word("Kitna"));
        assert!(!is_glossary_word("kitnaaaaaa") && !is_glossary_word("é"));
        // "ban" (become) is grammar; alone in an English question it changes nothing the
        // model reads.
        assert!(is_glossary_word("ban"));
        assert_eq!(in_english("is there a ban on moonlighting in India?"), None);
        assert_eq!(
            in_english("ml architect kitne saal me ban sakte hai").as_deref(),
            Some("ml architect how many years me become can is")
        );
        // Every entry fits the lookup's limits.
        assert!(GLOSSARY.iter().all(|(h, _)| h.len() <= 8 && h.is_ascii()));
    }
}
