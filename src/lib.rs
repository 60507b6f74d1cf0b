//! careerbot: answers career questions from a knowledge base its moderators own.
//!
//! The library does the work; `main.rs` is argument glue. Layers, imports pointing one way:
//! [`knowledge`] (files -> validated passages and tables) -> [`search`] (tantivy index,
//! question pipeline, confidence) and [`lookup`] (fuzzy names for skills, salary bands,
//! phases, autocomplete) -> [`render`] (plain text for the CLI) and [`bot`] (Discord).
//! Nothing below `bot` knows about Discord.

pub mod bot;
pub mod chart;
pub mod embed;
pub mod eval;
pub mod feedback;
pub mod knowledge;
pub mod lookup;
pub mod render;
pub mod search;
pub mod synth;

use std::path::{Path, PathBuf};

/// The knowledge directory to use: the one given (flag or `CAREERBOT_KNOWLEDGE`), else
/// `./knowledge` when it exists, else the base shipped next to this crate's source, so
/// `cargo run -- ask ...` works from a fresh clone whatever the working directory.
pub fn knowledge_dir(given: Option<&Path>) -> PathBuf {
    if let Some(dir) = given {
        return dir.to_path_buf();
    }
    let local = PathBuf::from("knowledge");
    if local.is_dir() {
        return local;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/knowledge"))
}
