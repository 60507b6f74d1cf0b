//! careerbot: answers career questions from a knowledge base its moderators own.
//!
//! The library does the work; `main.rs` is argument glue. Layers, imports pointing one way:
//! [`knowledge`] (files -> validated passages and tables) -> [`search`] (tantivy index,
//! question pipeline, confidence) and [`lookup`] (fuzzy names for skills, salary bands,
//! phases, autocomplete) -> [`render`] (plain text for the CLI) and [`bot`] (Discord).
//! Nothing below `bot` knows about Discord.

pub mod knowledge;
pub mod search;
