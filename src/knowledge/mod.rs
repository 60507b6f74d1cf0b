//! Knowledge base: moderator-owned files turned into typed, validated passages.
//!
//! Why its own layer: the files are edited by people who are not programmers, so every
//! mistake must come back as `path:line: message`, all of them at once, and a base with any
//! problem is never handed to the engine. Nothing here knows about tantivy or Discord.
//!
//! Layout of a knowledge directory:
//! - `*.md`: prose. TOML front matter between `+++` lines (`id`, `title`, optional `aliases`,
//!   `keywords`, `kind = "guide" | "faq"`), then text. Text before the first `## ` heading is
//!   one passage titled with the document title; each `## ` heading starts a passage titled
//!   with the heading. A first line `<!-- keywords: a, b -->` under a heading adds search words
//!   for that section only. `README.md` is documentation for moderators and is skipped.
//! - `skills.toml`, `salary.toml`, `phases.toml`, `timeline.toml`: the structured tables
//!   behind `/skills`, `/salary` and `/timeline`. Each row is also indexed as a passage, and
//!   each table has one overview passage, so `/ask` finds them too.
//! - `synonyms.toml`: words users type mapped to the word the base uses.
//! - `questions.toml` (optional): questions a passage answers, in the words users type
//!   (`[[asked]] passage = "id"`, `questions = [...]`). They state no facts, so they are kept
//!   apart from the text the fact-check covers; the semantic side matches a user's question
//!   against them as well as against the passage (question to question is what the model
//!   was trained on most). An id that names no passage is a warning at its line, and its
//!   questions are not used.
//! - `not-covered.toml` (optional): topics the base does not answer that people ask about
//!   ("income tax on a salary"), each with questions in users' words
//!   (`[[topic]] name = "..."`, `questions = [...]`). With the model (not lexical-only), a
//!   question at least 0.50 near one of them and nearer to it than to every passage is
//!   refused by naming the topic: a sentence-embedding model scores "how much tax on 30
//!   LPA" as close to the salary table as a paraphrase, and only the base's owners know
//!   what they chose not to write (see `search::fuse::not_covered`). A question may not be
//!   in both files.
//!
//! Any other file is ignored except a `*.toml` with an unknown name, which is an error (it is
//! almost certainly a misnamed table that would otherwise silently vanish).

use std::collections::HashMap;

use std::path::{Path, PathBuf};

use serde::Deserialize;

mod markdown;
mod passages;
mod problems;
mod questions;
mod tables;

pub use markdown::parse_markdown;
pub use passages::{band_line, phase_line, salary_band_passage_id, step_line};
pub use problems::{LoadError, Problem};
pub use questions::{AskedAs, NotCovered, NOT_COVERED_FILE, QUESTIONS_FILE};
pub use tables::{
    parse_not_covered, parse_phases, parse_questions, parse_salary, parse_skills, parse_synonyms,
    parse_timeline,
};

use passages::*;
use problems::*;
use questions::{asked_elsewhere, attach_questions};

/// Whether a passage comes from guide prose, an FAQ answer or a structured table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PassageKind {
    #[default]
    Guide,
    Faq,
    Table,
}

/// The unit of retrieval: one section of prose, one FAQ answer or one table row.
#[derive(Debug, Clone, PartialEq)]
pub struct Passage {
    /// Stable id, `doc` or `doc/section-slug`, unique across the base.
    pub id: String,
    /// The section title, used as the citation.
    pub title: String,
    /// The whole passage text (renderers shorten it, never the engine).
    pub text: String,
    /// Extra search words: document aliases and keywords plus section keywords.
    pub keywords: Vec<String>,
    /// Title of the document the passage belongs to.
    pub doc_title: String,
    /// File the passage came from, as given to the loader (e.g. `knowledge/role.md`).
    pub source: String,
    /// Line of the passage's heading (or first line) in `source`.
    pub line: usize,
    pub kind: PassageKind,
    /// Questions this passage answers, in users' words, from `questions.toml`: the semantic
    /// side embeds them beside the text. Not shown and not searched as words.
    pub asked_as: Vec<String>,
}

/// A skill area from `skills.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillArea {
    pub id: String,
    pub name: String,
    /// Where the row is, for problems found by other layers (e.g. Discord's name limits).
    pub source: String,
    pub line: usize,
    pub aliases: Vec<String>,
    pub summary: String,
    pub items: Vec<String>,
}

/// One salary band from `salary.toml`, in lakh rupees per annum (LPA).
#[derive(Debug, Clone, PartialEq)]
pub struct SalaryBand {
    pub id: String,
    pub level: String,
    pub aliases: Vec<String>,
    pub years_min: Option<u32>,
    pub years_max: Option<u32>,
    pub min_lpa: f64,
    pub max_lpa: Option<f64>,
    pub summary: Option<String>,
}

impl SalaryBand {
    /// "0-2 years", "7+ years", or `None` for bands not tied to experience.
    pub fn years_label(&self) -> Option<String> {
        match (self.years_min, self.years_max) {
            (Some(a), Some(b)) => Some(format!("{a}-{b} years")),
            (Some(a), None) => Some(format!("{a}+ years")),
            (None, Some(b)) => Some(format!("up to {b} years")),
            (None, None) => None,
        }
    }

    /// "₹10-18 LPA" or "₹70 LPA and above".
    pub fn range_label(&self) -> String {
        match self.max_lpa {
            Some(max) => format!("₹{}-{} LPA", fmt_num(self.min_lpa), fmt_num(max)),
            None => format!("₹{} LPA and above", fmt_num(self.min_lpa)),
        }
    }

    /// Whether `years` of experience falls in this band.
    pub fn covers_years(&self, years: u32) -> bool {
        match (self.years_min, self.years_max) {
            (None, None) => false,
            (min, max) => min.is_none_or(|m| years >= m) && max.is_none_or(|m| years <= m),
        }
    }
}

fn fmt_num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

/// The salary table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SalaryTable {
    pub title: String,
    pub note: String,
    pub bands: Vec<SalaryBand>,
}

/// One phase of the roadmap.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub number: u32,
    pub name: String,
    pub duration: String,
    /// Optional: what the phase concentrates on, when that says more than its name.
    pub focus: String,
    pub milestones: String,
    pub aliases: Vec<String>,
}

impl Phase {
    /// The focus, unless it is empty or only repeats the name (a source whose "focus"
    /// column is the phase's name has nothing to add).
    pub fn focus_beyond_name(&self) -> Option<&str> {
        let focus = self.focus.trim();
        (!focus.is_empty() && !focus.eq_ignore_ascii_case(self.name.trim())).then_some(focus)
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct PhaseTable {
    pub title: String,
    pub phases: Vec<Phase>,
}

/// One step of the sample career timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineStep {
    pub years: String,
    pub role: String,
    pub work: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Timeline {
    pub title: String,
    pub note: String,
    pub steps: Vec<TimelineStep>,
}

/// A word or phrase users type, mapped to the word the base uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Synonym {
    pub canonical: String,
    pub variants: Vec<String>,
}

/// A whole, validated knowledge base.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct KnowledgeBase {
    pub passages: Vec<Passage>,
    pub skills: Vec<SkillArea>,
    pub salary: SalaryTable,
    pub phases: PhaseTable,
    pub timeline: Timeline,
    pub synonyms: Vec<Synonym>,
    /// Topics the base does not answer, from `not-covered.toml` (empty without it).
    pub not_covered: Vec<NotCovered>,
    /// FNV-1a hash over every loaded file's name and bytes, hex: identifies a generation's
    /// content, so processes can tell whether they serve the same base.
    pub content_hash: String,
    /// Things that do not stop the base from being served but a moderator should hear of
    /// (an expected table file that is absent), shown by `check`, `/reload` and the log.
    pub warnings: Vec<Problem>,
}

/// A file's name and contents, as handed to [`KnowledgeBase::from_files`].
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display path used in passages and problems (e.g. `knowledge/role.md`).
    pub path: String,
    pub bytes: Vec<u8>,
}

/// The table files a base is expected to have; each one missing is a warning.
pub const TABLE_FILES: [&str; 5] = [
    "skills.toml",
    "salary.toml",
    "phases.toml",
    "timeline.toml",
    "synonyms.toml",
];

/// Largest knowledge file the loader reads (1 MiB, about 150,000 words): a bigger one is a
/// problem, not a slow answer. The shipped files are a few KiB each.
pub const MAX_FILE_BYTES: u64 = 1 << 20;
/// Largest knowledge base (all files together, 32 MiB): a synthetic 10,000-passage base is
/// about 5 MiB. Indexing and the model's vectors grow with it, so the bound keeps a typo'd
/// copy command from filling the bot's memory.
pub const MAX_BASE_BYTES: u64 = 32 << 20;

/// What is shown of a table file that should be there but is not.
const WHAT_GOES_MISSING: [(&str, &str); 5] = [
    ("skills.toml", "/skills will have no skill areas"),
    ("salary.toml", "/salary will have no salary bands"),
    ("phases.toml", "/timeline will have no roadmap phases"),
    ("timeline.toml", "/timeline will have no career steps"),
    (
        "synonyms.toml",
        "words people type will not be mapped to the base's words",
    ),
];

/// The knowledge files of a directory, read once: what a generation is built from and what
/// its content hash is computed over, so a watcher never hashes one read and builds another.
#[derive(Debug, Clone, Default)]
pub struct DirFiles {
    pub files: Vec<SourceFile>,
    /// Entries that could not be used (unreadable, a directory, too large).
    pub problems: Vec<Problem>,
}

impl DirFiles {
    /// The content hash of exactly these files.
    pub fn content_hash(&self) -> String {
        content_hash(&self.files)
    }
}

impl KnowledgeBase {
    /// Loads every knowledge file in `dir` (not recursive). Files are read in name order so
    /// ids, problems and the content hash are deterministic.
    pub fn load_dir(dir: &Path) -> Result<KnowledgeBase, LoadError> {
        KnowledgeBase::from_dir_files(read_dir(dir)?)
    }

    /// Builds a base from files already read by [`read_dir`].
    pub fn from_dir_files(read: DirFiles) -> Result<KnowledgeBase, LoadError> {
        let mut problems = read.problems;
        match KnowledgeBase::from_files(&read.files) {
            Ok(kb) if problems.is_empty() => Ok(kb),
            Ok(_) => Err(LoadError { problems }),
            Err(mut e) => {
                problems.append(&mut e.problems);
                Err(LoadError { problems })
            }
        }
    }

    /// Builds a base from in-memory files; the unit-testable core of [`Self::load_dir`].
    pub fn from_files(files: &[SourceFile]) -> Result<KnowledgeBase, LoadError> {
        let mut problems = Vec::new();
        let mut kb = KnowledgeBase::default();
        let mut seen_tables: HashMap<&str, &str> = HashMap::new();
        let mut asked: Vec<AskedAs> = Vec::new();
        // Document id -> where it was declared, so two files cannot share one.
        let mut doc_ids: HashMap<String, (String, usize)> = HashMap::new();
        // A document may not take the id of a table's passages (`salary`, `skills/...`).
        let tables_given: Vec<&str> = files
            .iter()
            .map(|f| file_name(&f.path))
            .filter(|n| TABLE_FILES.contains(n) && *n != "synonyms.toml")
            .collect();
        for file in files {
            let text = match std::str::from_utf8(&file.bytes) {
                Ok(t) => t,
                Err(e) => {
                    let line = line_of(&file.bytes, e.valid_up_to());
                    problems.push(Problem::new(
                        &file.path,
                        line,
                        "the file is not valid UTF-8 text (save it as UTF-8)",
                    ));
                    continue;
                }
            };
            // Windows editors start UTF-8 files with a byte-order mark; it is not content.
            let text = text.strip_prefix('\u{feff}').unwrap_or(text);
            let name = file_name(&file.path);
            let lower = name.to_ascii_lowercase();
            let path = file.path.as_str();
            if lower.ends_with(".md") {
                match markdown::parse_markdown_doc(path, text) {
                    Ok(mut doc) => {
                        if let Some((prev, line)) = doc_ids.get(&doc.id) {
                            problems.push(Problem::new(
                                path,
                                doc.id_line,
                                format!(
                                    "id {:?} is already used by {prev}:{line}: every file needs its own id",
                                    doc.id
                                ),
                            ));
                            continue;
                        }
                        let table = format!("{}.toml", doc.id);
                        if tables_given.contains(&table.as_str()) {
                            problems.push(Problem::new(
                                path,
                                doc.id_line,
                                format!(
                                    "id {:?} is taken by the table file {table}: choose another id",
                                    doc.id
                                ),
                            ));
                        }
                        doc_ids.insert(doc.id.clone(), (path.to_string(), doc.id_line));
                        kb.passages.append(&mut doc.passages);
                    }
                    Err(mut ps) => problems.append(&mut ps),
                }
                continue;
            }
            let known = TABLE_FILES.contains(&lower.as_str())
                || [QUESTIONS_FILE, NOT_COVERED_FILE].contains(&lower.as_str());
            if name != lower && known {
                problems.push(Problem::new(
                    path,
                    1,
                    format!("table file names are lowercase: rename {name:?} to {lower:?}"),
                ));
                continue;
            }
            if let Some(prev) = seen_tables.insert(name, path) {
                problems.push(Problem::new(
                    path,
                    1,
                    format!("{name} is given twice (also {prev})"),
                ));
                continue;
            }
            let result = match name {
                "skills.toml" => parse_skills(path, text).map(|s| kb.skills = s),
                "salary.toml" => parse_salary(path, text).map(|s| kb.salary = s),
                "phases.toml" => parse_phases(path, text).map(|s| kb.phases = s),
                "timeline.toml" => parse_timeline(path, text).map(|s| kb.timeline = s),
                "synonyms.toml" => parse_synonyms(path, text).map(|s| kb.synonyms = s),
                QUESTIONS_FILE => parse_questions(path, text).map(|q| asked = q),
                NOT_COVERED_FILE => parse_not_covered(path, text).map(|t| kb.not_covered = t),
                _ => Err(vec![Problem::new(
                    path,
                    1,
                    format!(
                        "unknown table file {name:?}: table files are {}, {QUESTIONS_FILE} and {NOT_COVERED_FILE}",
                        TABLE_FILES.join(", ")
                    ),
                )]),
            };
            if let Err(mut ps) = result {
                problems.append(&mut ps);
            }
        }
        for file in files {
            let name = file_name(&file.path);
            if name == "skills.toml" {
                kb.passages.extend(skill_passages(&file.path, &kb.skills));
            } else if name == "salary.toml" {
                kb.passages.extend(salary_passages(&file.path, &kb.salary));
            } else if name == "phases.toml" {
                kb.passages.extend(phase_passages(&file.path, &kb.phases));
            } else if name == "timeline.toml" {
                kb.passages
                    .extend(timeline_passages(&file.path, &kb.timeline));
            }
        }
        let mut ids: HashMap<&str, (&str, usize)> = HashMap::new();
        for p in &kb.passages {
            if let Some((src, line)) = ids.insert(&p.id, (&p.source, p.line)) {
                problems.push(Problem::new(
                    &p.source,
                    p.line,
                    format!("duplicate id {:?} (first used at {src}:{line})", p.id),
                ));
            }
        }
        let mut unattached = Vec::new();
        problems.extend(asked_elsewhere(&kb.not_covered, &asked));
        attach_questions(&mut kb.passages, asked, &mut unattached);
        if problems.is_empty() && kb.passages.is_empty() {
            problems.push(Problem::new(
                files.first().map_or("knowledge", |f| f.path.as_str()),
                1,
                "the knowledge base has no passages",
            ));
        }
        kb.warnings = missing_tables(files, &seen_tables);
        kb.warnings.append(&mut unattached);
        if problems.is_empty() {
            kb.content_hash = content_hash(files);
            Ok(kb)
        } else {
            Err(LoadError { problems })
        }
    }

    /// Looks a passage up by id.
    pub fn passage(&self, id: &str) -> Option<&Passage> {
        self.passages.iter().find(|p| p.id == id)
    }
}

/// A warning for each expected table file that is absent: a base may have no salaries, but
/// it should never lose them to a typo'd or deleted file without anyone hearing of it.
fn missing_tables(files: &[SourceFile], present: &HashMap<&str, &str>) -> Vec<Problem> {
    let dir = files
        .first()
        .map(|f| &f.path[..f.path.len() - file_name(&f.path).len()])
        .unwrap_or("");
    WHAT_GOES_MISSING
        .iter()
        .filter(|(name, _)| !present.contains_key(name))
        .map(|(name, effect)| {
            Problem::new(
                &format!("{dir}{name}"),
                1,
                format!("{name} is missing: {effect} (see knowledge/README.md to add it)"),
            )
        })
        .collect()
}

/// Reads the knowledge files of `dir` in name order, once. Entries that cannot be used are
/// problems: unreadable, a directory named like a knowledge file, or over the size limits.
pub fn read_dir(dir: &Path) -> Result<DirFiles, LoadError> {
    let display = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
        problems: vec![Problem::new(
            &display,
            1,
            format!("cannot read knowledge directory: {e}"),
        )],
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut read = DirFiles::default();
    for entry in entries {
        match entry {
            Ok(e) => paths.push(e.path()),
            Err(e) => read
                .problems
                .push(Problem::new(&display, 1, format!("cannot list: {e}"))),
        }
    }
    paths.sort();
    let mut total: u64 = 0;
    for path in paths {
        if !is_knowledge_name(&path) {
            continue;
        }
        let shown = path.display().to_string();
        let problem = |message: String| Problem::new(&shown, 1, message);
        let meta = match std::fs::metadata(&path) {
            Ok(m) => m,
            Err(e) => {
                read.problems.push(problem(format!("cannot read: {e}")));
                continue;
            }
        };
        if !meta.is_file() {
            read.problems.push(problem(
                "is a directory, not a file: knowledge files live directly in the knowledge folder"
                    .into(),
            ));
            continue;
        }
        if meta.len() > MAX_FILE_BYTES {
            read.problems.push(problem(format!(
                "the file is {} KiB; a knowledge file may be at most {} KiB: split it",
                meta.len() / 1024,
                MAX_FILE_BYTES / 1024
            )));
            continue;
        }
        total += meta.len();
        if total > MAX_BASE_BYTES {
            read.problems.push(problem(format!(
                "the knowledge files add up to more than {} MiB, the most one base may hold",
                MAX_BASE_BYTES >> 20
            )));
            break;
        }
        match std::fs::read(&path) {
            Ok(bytes) => read.files.push(SourceFile { path: shown, bytes }),
            Err(e) => read.problems.push(problem(format!("cannot read: {e}"))),
        }
    }
    Ok(read)
}

/// The content hash of a set of knowledge files: FNV-1a over each file's name and bytes.
/// Only file names count, not directories, so the same files hash the same anywhere.
pub fn content_hash(files: &[SourceFile]) -> String {
    let mut hash = Fnv::new();
    for file in files {
        hash.write(file_name(&file.path).as_bytes());
        hash.write(&[0]);
        hash.write(&file.bytes);
        hash.write(&[0]);
    }
    hash.hex()
}

/// The content hash the files in `dir` have now, without parsing them: cheap enough to poll.
/// Equal to [`KnowledgeBase::content_hash`] of a base loaded from the same files.
pub fn dir_content_hash(dir: &Path) -> Result<String, LoadError> {
    let read = read_dir(dir)?;
    if read.problems.is_empty() {
        Ok(read.content_hash())
    } else {
        Err(LoadError {
            problems: read.problems,
        })
    }
}

/// Whether a directory entry is named like a knowledge file (`.md` or `.toml`, any case;
/// hidden files and the moderators' README excepted). Whether it *is* a file is checked by
/// the reader, so a directory named `skills.toml` is reported rather than skipped.
fn is_knowledge_name(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    let lower = name.to_ascii_lowercase();
    if name.starts_with('.') || lower == "readme.md" {
        return false;
    }
    lower.ends_with(".md") || lower.ends_with(".toml")
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// 64-bit FNV-1a: tiny, stable across builds and platforms, enough to tell generations apart.
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn hex(&self) -> String {
        format!("{:016x}", self.0)
    }
}

/// Lowercase ASCII slug for ids: `Skill area: MLOps & DevOps` -> `skill-area-mlops-devops`.
pub fn slugify(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if c == '+' {
            out.push_str("plus");
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        out.push_str("section");
    }
    out
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests;
