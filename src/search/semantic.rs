//! Semantic retrieval: how close in meaning the question is to each passage, and to each
//! topic the base lists as not covered.
//!
//! Each passage is embedded whole (its document and section titles first, for context) and,
//! when it is long, also in chunks of a few sentences, because a fact buried in a long passage
//! ("Kleppmann's book") is diluted in one whole-passage vector. The questions a passage
//! answers, from `questions.toml`, are embedded as well: the model was trained mostly on
//! pairs of questions, so a user's question finds a question worded differently more surely
//! than the prose that answers it. A passage's similarity is its best vector's cosine, less
//! [`ASKED_DISCOUNT`] for those questions (two questions share their shape whatever they
//! ask). The questions of `not-covered.toml`'s topics are rows of the same matrix, owned by
//! their topic rather than a passage, measured the same way (with the discount) so that a
//! topic and a passage compete on equal terms (`fuse::not_covered`).
//!
//! Every vector is compared **without most of the base's common direction**: the mean of
//! its vectors (passages' and `questions.toml`'s; not the topics', so listing a topic moves
//! no passage's similarity), of which [`COMMON_SHARE`] is projected
//! out of passage and question vectors alike. A base about one career is one topic, so every passage shares a large
//! component ("ML architects"), and any question that mentions the career is close to every
//! passage through it alone, whether the base answers it (salaries) or not (visas, interview
//! questions). Without it, what is compared is what is specific to each passage. On the
//! independent dev set this answered two more questions right and refused one more near-domain
//! question (docs/QUALITY.md); the vectors in the cache stay as the model made them.
//!
//! Questions are embedded whole, and again with typos corrected when the model would not
//! know a word. A long chatty message ("I'm a backend dev with 3 years in Java... do I need
//! a master's?") is embedded by its question sentences instead: the story around the
//! question pulls a whole-message vector away from what is asked, and embedding a
//! 128-piece message costs five times what a question sentence does. On the independent dev
//! set this scored the same as embedding the whole message as well (docs/QUALITY.md).
//!
//! Question vectors are kept in a small in-memory cache ([`QUERY_VECTORS`]), because the same
//! questions come back ("/ask salary"). It holds SHA-256 keys and vectors, never the text,
//! and is never written to disk.

use std::sync::Arc;

use crate::embed::cache::{CacheStats, VectorCache};
use crate::embed::{cosine, EmbedError, Embedder};
use crate::knowledge::{KnowledgeBase, Passage};

/// Passages longer than this many words are also embedded in chunks.
const CHUNK_WORDS: usize = 40;
/// Messages longer than this many words also have their question sentences embedded.
const LONG_MESSAGE_WORDS: usize = 20;
/// At most this many question sentences are embedded per long message.
const MAX_QUESTION_SENTENCES: usize = 2;
/// Share of the base's mean direction taken out of every vector (see the module docs);
/// calibrated with the fusion constants on the dev half of the independent set.
pub const COMMON_SHARE: f32 = 0.8;
/// Question vectors kept in memory (1.5 KiB each).
pub const QUERY_VECTORS: usize = 2048;
/// Taken off the similarity of a question to a question from `questions.toml`: two
/// questions share their shape ("how long do I ...") whatever they ask, so "how long do I
/// boil eggs" came within the answer bar of "how long does phase 2 take" without it.
/// Calibrated with the fusion's bars (`super::fuse`): 0.05 and 0.1 score alike, 0.1 over a
/// wider range of the other bars; 0.15 loses right answers.
pub const ASKED_DISCOUNT: f32 = 0.1;

/// The model and its vector caches: loaded once per process, shared by every generation.
#[derive(Debug)]
pub struct SemanticModel {
    pub embedder: Arc<Embedder>,
    /// Vectors of the base's texts (passages, their questions, not-covered topics'
    /// questions), on disk as well.
    pub cache: Arc<VectorCache>,
    /// Question vectors, in memory only.
    pub queries: Arc<VectorCache>,
}

/// Why the model could not be had.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error(transparent)]
    Fetch(#[from] crate::embed::fetch::FetchError),
    #[error("loading the model from {dir}")]
    Load {
        dir: std::path::PathBuf,
        source: EmbedError,
    },
}

impl SemanticModel {
    /// The model from `explicit` (a directory the user named) or the cache, fetched on first
    /// use; the vector cache beside it. See [`crate::embed::fetch`] for the order tried.
    pub fn load(explicit: Option<&std::path::Path>) -> Result<SemanticModel, ModelError> {
        use crate::embed::fetch;
        let cache_root = fetch::default_cache_root();
        let dir = fetch::model_dir(
            explicit,
            &cache_root,
            &fetch::MINILM,
            &fetch::Endpoints::from_env(),
        )?;
        let embedder = Embedder::load(&dir).map_err(|source| ModelError::Load {
            dir: dir.clone(),
            source,
        })?;
        let cache = VectorCache::open(&cache_root, &embedder);
        Ok(SemanticModel::new(Arc::new(embedder), Arc::new(cache)))
    }

    /// A model with the given passage cache and a fresh question cache.
    pub fn new(embedder: Arc<Embedder>, cache: Arc<VectorCache>) -> SemanticModel {
        let queries = Arc::new(VectorCache::in_memory(&embedder, QUERY_VECTORS));
        SemanticModel {
            embedder,
            cache,
            queries,
        }
    }
}

/// The vectors of one knowledge base generation: its passages' and its not-covered topics'.
pub struct SemanticIndex {
    embedder: Arc<Embedder>,
    queries: Arc<VectorCache>,
    /// Every vector, one after another (`dims` floats each): one contiguous matrix is
    /// scanned at memory speed, a vector of vectors is not.
    matrix: Vec<f32>,
    dims: usize,
    /// The base's mean direction (unit length), taken out of question vectors too.
    common: Vec<f32>,
    /// What each row belongs to: a passage's index, or `passages` + a topic's index.
    owner: Vec<usize>,
    /// Taken off each row's cosine: [`ASKED_DISCOUNT`] for a question (from
    /// `questions.toml` or `not-covered.toml`), 0 for the passage's own text.
    discount: Vec<f32>,
    passages: usize,
    /// Not-covered topics; their rows' owners come after the passages'.
    topics: usize,
    /// How this generation's vectors were obtained.
    pub stats: CacheStats,
}

impl SemanticIndex {
    /// Embeds every passage, its questions and the not-covered topics' questions (cached
    /// vectors are reused).
    pub fn build(kb: &KnowledgeBase, model: &SemanticModel) -> Result<SemanticIndex, EmbedError> {
        let mut texts = Vec::new();
        let mut owner = Vec::new();
        let mut discount = Vec::new();
        for (ord, p) in kb.passages.iter().enumerate() {
            for text in passage_texts(p) {
                texts.push(text);
                owner.push(ord);
                discount.push(0.0);
            }
            for q in &p.asked_as {
                texts.push(q.clone());
                owner.push(ord);
                discount.push(ASKED_DISCOUNT);
            }
        }
        // The base's own rows make its common direction; the not-covered topics' questions
        // (after them) are measured against it but do not move it, so listing a topic
        // changes no passage's similarity.
        let base_rows = texts.len();
        for (t, topic) in kb.not_covered.iter().enumerate() {
            for q in &topic.questions {
                texts.push(q.clone());
                owner.push(kb.passages.len() + t);
                discount.push(ASKED_DISCOUNT);
            }
        }
        let (mut vectors, stats) = model.cache.embed(&model.embedder, &texts)?;
        let common = mean_direction(&vectors[..base_rows], model.embedder.dims());
        for v in &mut vectors {
            remove_common(v, &common);
        }
        Ok(SemanticIndex {
            embedder: model.embedder.clone(),
            queries: model.queries.clone(),
            matrix: vectors.concat(),
            common,
            dims: model.embedder.dims(),
            owner,
            discount,
            passages: kb.passages.len(),
            topics: kb.not_covered.len(),
            stats,
        })
    }

    /// The question with the lexical side's typo corrections applied, for the model: it was
    /// trained on clean text and "salery senoir" means little to it. Only corrections of
    /// words the model does not know are applied: "moles" is a real word, and turning it into
    /// "roles" would make a chemistry question look like one about careers.
    pub fn corrected_for_model(
        &self,
        question: &str,
        corrections: &[(std::ops::Range<usize>, String)],
    ) -> Option<String> {
        let unknown_to_model: Vec<(std::ops::Range<usize>, String)> = corrections
            .iter()
            .filter(|(span, _)| {
                question
                    .get(span.clone())
                    .is_some_and(|w| !self.embedder.knows_word(w))
            })
            .cloned()
            .collect();
        (!unknown_to_model.is_empty())
            .then(|| super::lexical::corrected_question(question, &unknown_to_model))
    }

    /// Whether the model knows `word` as a whole word (see [`Embedder::knows_word`]).
    pub fn knows_word(&self, word: &str) -> bool {
        self.embedder.knows_word(word)
    }

    /// Embeds `texts` into the question cache in one forward pass (those not there already),
    /// so the measures that follow find them there: a pass has a fixed cost.
    pub fn embed_ahead(&self, texts: &[String]) -> Result<(), EmbedError> {
        self.queries.embed(&self.embedder, texts).map(|_| ())
    }

    /// Cosine similarity of `text` to one passage (`ord`), as [`SemanticIndex::similarities`]
    /// measures it.
    pub fn similarity_to(&self, text: &str, ord: usize) -> Result<f32, EmbedError> {
        debug_assert!(ord < self.passages, "a passage, not a topic");
        let (mut vectors, _) = self.queries.embed(&self.embedder, &[text.to_string()])?;
        let mut best = f32::MIN;
        for v in &mut vectors {
            remove_common(v, &self.common);
            for ((p, _), &discount) in self
                .matrix
                .chunks_exact(self.dims)
                .zip(&self.owner)
                .zip(&self.discount)
                .filter(|((_, &o), _)| o == ord)
            {
                best = best.max(cosine(v, p) - discount);
            }
        }
        // No row for `ord` (it cannot happen for a ranked passage): nothing is near.
        Ok(if best == f32::MIN { 0.0 } else { best })
    }

    /// Cosine similarity of `text` to each of `others`, measured as between questions: all
    /// embedded in one pass (through the question cache), without the base's common
    /// direction.
    pub fn similarities_between(
        &self,
        text: &str,
        others: &[String],
    ) -> Result<Vec<f32>, EmbedError> {
        let texts: Vec<String> = std::iter::once(text.to_string())
            .chain(others.iter().cloned())
            .collect();
        let (mut vectors, _) = self.queries.embed(&self.embedder, &texts)?;
        for v in &mut vectors {
            remove_common(v, &self.common);
        }
        let Some((first, rest)) = vectors.split_first() else {
            return Ok(Vec::new());
        };
        Ok(rest.iter().map(|v| cosine(first, v)).collect())
    }

    /// Cosine similarity of the question to every passage (by passage index) and to every
    /// not-covered topic. `corrected` is [`SemanticIndex::corrected_for_model`]'s text,
    /// embedded as well when present.
    pub fn similarities(
        &self,
        question: &str,
        corrected: Option<&str>,
    ) -> Result<Similarities, EmbedError> {
        let (mut query_vectors, _) = self
            .queries
            .embed(&self.embedder, &question_texts(question, corrected))?;
        for v in &mut query_vectors {
            remove_common(v, &self.common);
        }
        let mut best = vec![f32::MIN; self.passages + self.topics];
        for ((v, &owner), &discount) in self
            .matrix
            .chunks_exact(self.dims)
            .zip(&self.owner)
            .zip(&self.discount)
        {
            for q in &query_vectors {
                let c = cosine(q, v) - discount;
                if c > best[owner] {
                    best[owner] = c;
                }
            }
        }
        for b in &mut best {
            if *b == f32::MIN {
                *b = 0.0;
            }
        }
        let topics = best.split_off(self.passages);
        Ok(Similarities {
            passages: best,
            topics,
        })
    }
}

/// A question's similarity to each passage and to each not-covered topic (in the base's
/// order), the best of the question's vectors against the best of each one's.
#[derive(Debug, Clone, PartialEq)]
pub struct Similarities {
    pub passages: Vec<f32>,
    pub topics: Vec<f32>,
}

/// The unit-length mean of `vectors` (zeros when there are none).
fn mean_direction(vectors: &[Vec<f32>], dims: usize) -> Vec<f32> {
    let mut sum = vec![0.0f32; dims];
    for v in vectors {
        for (s, x) in sum.iter_mut().zip(v) {
            *s += x;
        }
    }
    let norm = cosine(&sum, &sum).sqrt();
    if norm > 1e-6 {
        sum.iter_mut().for_each(|s| *s /= norm);
    }
    sum
}

/// Takes [`COMMON_SHARE`] of the `common` direction out of `v`, then makes it unit length.
fn remove_common(v: &mut [f32], common: &[f32]) {
    let along = COMMON_SHARE * cosine(v, common);
    for (x, c) in v.iter_mut().zip(common) {
        *x -= along * c;
    }
    let norm = cosine(v, v).sqrt();
    if norm > 1e-6 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// The texts a passage is embedded as: whole, its titles, then chunks of sentences when it
/// is long. (The questions it answers are embedded too, see [`SemanticIndex::build`].)
pub fn passage_texts(p: &Passage) -> Vec<String> {
    let context = if p.doc_title.is_empty() || p.doc_title == p.title {
        p.title.clone()
    } else {
        format!("{}: {}", p.doc_title, p.title)
    };
    // The titles alone too: short, and they say what the passage is about.
    let mut out = vec![format!("{context}. {}", p.text), context.clone()];
    let words = p.text.split_whitespace().count();
    if words > CHUNK_WORDS {
        let mut chunk = String::new();
        let mut chunk_words = 0;
        for sentence in sentences(&p.text) {
            let n = sentence.split_whitespace().count();
            if chunk_words > 0 && chunk_words + n > CHUNK_WORDS {
                out.push(format!("{context}. {chunk}"));
                chunk.clear();
                chunk_words = 0;
            }
            if !chunk.is_empty() {
                chunk.push(' ');
            }
            chunk.push_str(sentence);
            chunk_words += n;
        }
        if chunk_words > 0 {
            out.push(format!("{context}. {chunk}"));
        }
    }
    out
}

/// The texts a question is embedded as: a short one whole, plus `corrected` (its typo-fixed
/// form) when there is one; a long message by its question sentences (the last sentence when
/// none ends in `?`), each alone and with the sentence before it, or whole when it is a
/// single sentence. The sentence before is where people say what "that" and "there" are:
/// "My seniors say you need a CS degree to become an ML architect. Is that true?" Alone,
/// the question sentence often names nothing. Taking the best of both, on the six
/// calibration sets (tenth session), long messages went from 66 to 71 of 87 right first and
/// from 81 to 86 of 87 in the top three, with no more off-topic or near-domain messages
/// answered there; two sentences before instead of one scored alike (70 first, 87 in the
/// top three).
/// The cost, found by review: an off-topic question after an on-topic opening ("I'm an ML
/// architect at 50 LPA. How do I bake a chocolate cake?") borrows the opening's meaning
/// and can be answered; no such message is in the calibration sets.
pub fn question_texts(question: &str, corrected: Option<&str>) -> Vec<String> {
    let whole = question.trim().to_string();
    if question.split_whitespace().count() <= LONG_MESSAGE_WORDS {
        return std::iter::once(whole)
            .chain(corrected.map(str::to_string))
            .collect();
    }
    let all: Vec<&str> = sentences(question).collect();
    let mut asked: Vec<usize> = (0..all.len()).filter(|&i| all[i].ends_with('?')).collect();
    if asked.is_empty() {
        // No question mark: people put the ask last ("... so what should I learn first").
        asked.extend(all.len().checked_sub(1));
    }
    let mut out: Vec<String> = Vec::new();
    for i in asked.into_iter().rev().take(MAX_QUESTION_SENTENCES) {
        let s = all[i];
        if s.split_whitespace().count() >= 2 && !out.iter().any(|o| o == s) {
            out.push(s.to_string());
        }
        if let Some(before) = i.checked_sub(1).map(|b| all[b]) {
            let with_context = format!("{before} {s}");
            if !out.contains(&with_context) {
                out.push(with_context);
            }
        }
    }
    if out.is_empty() {
        out.push(whole);
    }
    out
}

/// Sentences of `text`: split after `.`, `!`, `?` or a line break, trimmed, non-empty.
fn sentences(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    let mut cuts = Vec::new();
    let bytes = text.as_bytes();
    for (i, c) in text.char_indices() {
        let end = i + c.len_utf8();
        let boundary = match c {
            '\n' => true,
            '.' | '!' | '?' => bytes.get(end).is_none_or(|b| b.is_ascii_whitespace()),
            _ => false,
        };
        if boundary {
            cuts.push(&text[start..end]);
            start = end;
        }
    }
    cuts.push(&text[start..]);
    cuts.into_iter()
        .map(str::trim)
        .filter(|s| !s.trim_matches(|c: char| !c.is_alphanumeric()).is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_common_direction_is_mostly_removed() {
        let vectors = vec![vec![0.8, 0.6, 0.0], vec![0.8, 0.0, 0.6]];
        let common = mean_direction(&vectors, 3);
        assert!((cosine(&common, &common) - 1.0).abs() < 1e-5);
        let (mut a, mut b) = (vectors[0].clone(), vectors[1].clone());
        let before = cosine(&a, &b);
        remove_common(&mut a, &common);
        remove_common(&mut b, &common);
        assert!((cosine(&a, &a) - 1.0).abs() < 1e-5, "unit length again");
        assert!(
            cosine(&a, &b) < before - 0.3,
            "what the two share counts for less: {before} -> {}",
            cosine(&a, &b)
        );
        assert_eq!(mean_direction(&[], 3), [0.0, 0.0, 0.0]);
    }

    #[test]
    fn sentences_split_on_ends_and_lines() {
        let s: Vec<&str> =
            sentences("Hi all. I use v1.2 daily!\nDo I need a degree? thanks").collect();
        assert_eq!(
            s,
            [
                "Hi all.",
                "I use v1.2 daily!",
                "Do I need a degree?",
                "thanks"
            ]
        );
    }

    #[test]
    fn long_messages_are_embedded_by_their_question_sentences() {
        let short = question_texts("do I need a degree?", None);
        assert_eq!(short, ["do I need a degree?"]);
        let typo = question_texts("salery senoir", Some("salary senior"));
        assert_eq!(typo, ["salery senoir", "salary senior"]);
        let long = "Hey all, I'm a backend dev with 3 years in Java and I do Kaggle on weekends. \
                    My company has no ML team. Do I need a master's or can I skip it? Thanks!";
        let q = question_texts(long, Some("ignored for a long message"));
        assert_eq!(
            q,
            [
                "Do I need a master's or can I skip it?",
                "My company has no ML team. Do I need a master's or can I skip it?"
            ]
        );
        let no_mark = "I have been a data analyst for four years now and I want to move up. \
                       Tell me which cloud platform to learn first";
        assert_eq!(
            question_texts(no_mark, None),
            [
                "Tell me which cloud platform to learn first",
                "I have been a data analyst for four years now and I want to move up. \
                 Tell me which cloud platform to learn first"
            ],
            "no question mark: the last sentence"
        );
        let one_sentence = "I have been a data analyst for four years now and I want to move up \
                            so tell me which cloud platform to learn first";
        assert_eq!(
            question_texts(one_sentence, None),
            [one_sentence],
            "one sentence: whole"
        );
    }
}
