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
//!
//! Any other file is ignored except a `*.toml` with an unknown name, which is an error (it is
//! almost certainly a misnamed table that would otherwise silently vanish).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

/// One problem in one knowledge file, shown as `path:line: message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.path, self.line, self.message)
    }
}

impl Problem {
    fn new(path: &str, line: usize, message: impl Into<String>) -> Self {
        Problem {
            path: path.to_string(),
            line: line.max(1),
            message: message.into(),
        }
    }
}

/// Why a knowledge base could not be loaded: every problem found, in file order.
#[derive(Debug, Clone, thiserror::Error)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        writeln!(
            f,
            "the knowledge base has {n} problem{}:",
            if n == 1 { "" } else { "s" }
        )?;
        for p in &self.problems {
            writeln!(f, "{p}")?;
        }
        Ok(())
    }
}

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
}

/// A skill area from `skills.toml`.
#[derive(Debug, Clone, PartialEq)]
pub struct SkillArea {
    pub id: String,
    pub name: String,
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
    pub focus: String,
    pub milestones: String,
    pub aliases: Vec<String>,
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
    /// FNV-1a hash over every loaded file's name and bytes, hex: identifies a generation's
    /// content, so processes can tell whether they serve the same base.
    pub content_hash: String,
}

/// A file's name and contents, as handed to [`KnowledgeBase::from_files`].
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Display path used in passages and problems (e.g. `knowledge/role.md`).
    pub path: String,
    pub bytes: Vec<u8>,
}

const TABLE_FILES: [&str; 5] = [
    "skills.toml",
    "salary.toml",
    "phases.toml",
    "timeline.toml",
    "synonyms.toml",
];

impl KnowledgeBase {
    /// Loads every knowledge file in `dir` (not recursive). Files are read in name order so
    /// ids, problems and the content hash are deterministic.
    pub fn load_dir(dir: &Path) -> Result<KnowledgeBase, LoadError> {
        let (files, mut problems) = read_dir_files(dir)?;
        match KnowledgeBase::from_files(&files) {
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
        let mut hash = Fnv::new();
        let mut seen_tables: HashMap<&str, &str> = HashMap::new();
        for file in files {
            hash.write(
                file.path
                    .rsplit(['/', '\\'])
                    .next()
                    .unwrap_or(&file.path)
                    .as_bytes(),
            );
            hash.write(&[0]);
            hash.write(&file.bytes);
            hash.write(&[0]);
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
            let name = file_name(&file.path);
            let path = file.path.as_str();
            if name.ends_with(".md") {
                match parse_markdown(path, text) {
                    Ok(mut ps) => kb.passages.append(&mut ps),
                    Err(mut ps) => problems.append(&mut ps),
                }
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
                _ => Err(vec![Problem::new(
                    path,
                    1,
                    format!(
                        "unknown table file {name:?}: table files are {}",
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
        if problems.is_empty() && kb.passages.is_empty() {
            problems.push(Problem::new(
                files.first().map_or("knowledge", |f| f.path.as_str()),
                1,
                "the knowledge base has no passages",
            ));
        }
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

/// Reads the knowledge files of `dir` in name order; unreadable files are problems.
fn read_dir_files(dir: &Path) -> Result<(Vec<SourceFile>, Vec<Problem>), LoadError> {
    let display = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError {
        problems: vec![Problem::new(
            &display,
            1,
            format!("cannot read knowledge directory: {e}"),
        )],
    })?;
    let mut paths: Vec<PathBuf> = Vec::new();
    let mut problems = Vec::new();
    for entry in entries {
        match entry {
            Ok(e) => paths.push(e.path()),
            Err(e) => problems.push(Problem::new(&display, 1, format!("cannot list: {e}"))),
        }
    }
    paths.sort();
    let mut files = Vec::new();
    for path in paths {
        if !is_knowledge_file(&path) {
            continue;
        }
        match std::fs::read(&path) {
            Ok(bytes) => files.push(SourceFile {
                path: path.display().to_string(),
                bytes,
            }),
            Err(e) => problems.push(Problem::new(
                &path.display().to_string(),
                1,
                format!("cannot read: {e}"),
            )),
        }
    }
    Ok((files, problems))
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
    let (files, problems) = read_dir_files(dir)?;
    if problems.is_empty() {
        Ok(content_hash(&files))
    } else {
        Err(LoadError { problems })
    }
}

fn is_knowledge_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    if name.starts_with('.') || name.eq_ignore_ascii_case("README.md") {
        return false;
    }
    path.is_file() && (name.ends_with(".md") || name.ends_with(".toml"))
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// 1-based line of byte `offset` in `bytes`.
fn line_of(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
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

/// Turns a toml error into a problem at the right line; `first_line` is the file line where
/// the TOML text starts (front matter starts below the `+++`).
fn toml_problem(path: &str, toml_text: &str, first_line: usize, err: &toml::de::Error) -> Problem {
    let line = err
        .span()
        .map_or(1, |s| line_of(toml_text.as_bytes(), s.start));
    // toml's message repeats the snippet over several lines; the first line says it all.
    let message = err
        .message()
        .lines()
        .next()
        .unwrap_or("invalid TOML")
        .trim();
    Problem::new(path, first_line + line - 1, format!("TOML: {message}"))
}

fn span_line<T>(text: &str, s: &Spanned<T>) -> usize {
    line_of(text.as_bytes(), s.span().start)
}

// ---------------------------------------------------------------------------------------
// Markdown prose
// ---------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    id: Option<Spanned<String>>,
    title: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
}

/// Parses one Markdown knowledge file into passages, or every problem found in it.
pub fn parse_markdown(path: &str, text: &str) -> Result<Vec<Passage>, Vec<Problem>> {
    let mut problems = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    let first = lines.iter().position(|l| !l.trim().is_empty());
    let Some(first) = first.filter(|&i| lines[i].trim() == "+++") else {
        return Err(vec![Problem::new(
            path,
            first.map_or(1, |i| i + 1),
            "expected front matter: a line `+++`, then `id = \"...\"` and `title = \"...\"`, then `+++`",
        )]);
    };
    let Some(close) = lines
        .iter()
        .skip(first + 1)
        .position(|l| l.trim() == "+++")
        .map(|i| i + first + 1)
    else {
        return Err(vec![Problem::new(
            path,
            first + 1,
            "front matter is not closed: add a line `+++` after it",
        )]);
    };
    let fm_text = lines[first + 1..close].join("\n");
    let fm_first_line = first + 2;
    let fm: FrontMatter = match toml::from_str(&fm_text) {
        Ok(fm) => fm,
        Err(e) => return Err(vec![toml_problem(path, &fm_text, fm_first_line, &e)]),
    };
    let doc_id = match &fm.id {
        None => {
            problems.push(Problem::new(path, first + 1, "front matter has no `id`"));
            String::new()
        }
        Some(id) if !valid_id(id.get_ref()) => {
            problems.push(Problem::new(
                path,
                fm_first_line + span_line(&fm_text, id) - 1,
                format!(
                    "id {:?} must be lowercase letters, digits, '-' or '_'",
                    id.get_ref()
                ),
            ));
            String::new()
        }
        Some(id) => id.get_ref().clone(),
    };
    let doc_title = match fm.title.as_deref().map(str::trim) {
        None | Some("") => {
            problems.push(Problem::new(path, first + 1, "front matter has no `title`"));
            String::new()
        }
        Some(t) => t.to_string(),
    };
    let kind = match &fm.kind {
        None => PassageKind::Guide,
        Some(k) => match k.get_ref().as_str() {
            "guide" => PassageKind::Guide,
            "faq" => PassageKind::Faq,
            other => {
                problems.push(Problem::new(
                    path,
                    fm_first_line + span_line(&fm_text, k) - 1,
                    format!("kind {other:?} is not one of \"guide\", \"faq\""),
                ));
                PassageKind::Guide
            }
        },
    };
    let mut doc_keywords = fm.aliases.clone();
    doc_keywords.extend(fm.keywords.iter().cloned());

    // Split the body into sections: (heading line number, heading or None, body lines).
    struct Section<'a> {
        line: usize,
        heading: Option<&'a str>,
        body: Vec<&'a str>,
    }
    let mut sections: Vec<Section> = vec![Section {
        line: close + 2,
        heading: None,
        body: Vec::new(),
    }];
    let mut in_fence = false;
    for (i, raw) in lines.iter().enumerate().skip(close + 1) {
        let line_no = i + 1;
        let trimmed = raw.trim_start();
        if trimmed.starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence {
            if let Some(h) = trimmed.strip_prefix("## ") {
                sections.push(Section {
                    line: line_no,
                    heading: Some(h.trim()),
                    body: Vec::new(),
                });
                continue;
            }
            if trimmed == "##" {
                problems.push(Problem::new(path, line_no, "heading `##` has no title"));
                continue;
            }
            if trimmed.starts_with("# ") || trimmed == "#" {
                problems.push(Problem::new(
                    path,
                    line_no,
                    "use `## ` for section headings (a single `#` is not a section)",
                ));
                continue;
            }
        }
        if let Some(s) = sections.last_mut() {
            s.body.push(raw);
        }
    }

    let mut passages = Vec::new();
    let mut slugs: HashMap<String, usize> = HashMap::new();
    for section in sections {
        let mut keywords = doc_keywords.clone();
        let mut body = section.body.as_slice();
        // Skip leading blank lines, then take an optional keywords comment.
        while body.first().is_some_and(|l| l.trim().is_empty()) {
            body = &body[1..];
        }
        if let Some(first_line) = body.first() {
            let t = first_line.trim();
            if let Some(rest) = t.strip_prefix("<!--") {
                let inner = rest.trim_end_matches("-->").trim();
                // Any other comment stays part of the text.
                if let Some(list) = inner
                    .strip_prefix("keywords:")
                    .filter(|_| t.ends_with("-->"))
                {
                    keywords.extend(
                        list.split(',')
                            .map(str::trim)
                            .filter(|w| !w.is_empty())
                            .map(String::from),
                    );
                    body = &body[1..];
                }
            }
        }
        let text = body.join("\n").trim().to_string();
        let Some(heading) = section.heading else {
            // Intro text before the first heading is optional.
            if !text.is_empty() && !doc_id.is_empty() {
                passages.push(Passage {
                    id: doc_id.clone(),
                    title: doc_title.clone(),
                    text,
                    keywords,
                    doc_title: doc_title.clone(),
                    source: path.to_string(),
                    line: section.line,
                    kind,
                });
            }
            continue;
        };
        if text.is_empty() {
            problems.push(Problem::new(
                path,
                section.line,
                format!("section {heading:?} is empty: write its text under the heading"),
            ));
            continue;
        }
        if kind == PassageKind::Faq && !heading.ends_with('?') {
            problems.push(Problem::new(
                path,
                section.line,
                format!("FAQ heading {heading:?} should be a question ending with '?'"),
            ));
        }
        let slug = slugify(heading);
        let n = slugs.entry(slug.clone()).or_insert(0);
        *n += 1;
        let slug = if *n == 1 { slug } else { format!("{slug}-{n}") };
        passages.push(Passage {
            id: format!("{doc_id}/{slug}"),
            title: heading.to_string(),
            text,
            keywords,
            doc_title: doc_title.clone(),
            source: path.to_string(),
            line: section.line,
            kind,
        });
    }
    if passages.is_empty() && problems.is_empty() {
        problems.push(Problem::new(
            path,
            close + 1,
            "the document has no text: add `## ` sections below the front matter",
        ));
    }
    ok_if_clean(problems, passages)
}

// ---------------------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------------------

fn parse_toml<T: serde::de::DeserializeOwned>(path: &str, text: &str) -> Result<T, Vec<Problem>> {
    toml::from_str(text).map_err(|e| vec![toml_problem(path, text, 1, &e)])
}

/// `value` if no problem was found, else the problems.
fn ok_if_clean<T>(problems: Vec<Problem>, value: T) -> Result<T, Vec<Problem>> {
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// Reports a missing or blank required string at the row's line.
fn require(problems: &mut Vec<Problem>, path: &str, line: usize, what: &str, value: &str) -> bool {
    if value.trim().is_empty() {
        problems.push(Problem::new(path, line, format!("{what} is empty")));
        false
    } else {
        true
    }
}

fn check_row_id(
    problems: &mut Vec<Problem>,
    seen: &mut HashMap<String, usize>,
    path: &str,
    line: usize,
    id: &str,
) {
    if !valid_id(id) {
        problems.push(Problem::new(
            path,
            line,
            format!("id {id:?} must be lowercase letters, digits, '-' or '_'"),
        ));
    } else if let Some(prev) = seen.insert(id.to_string(), line) {
        problems.push(Problem::new(
            path,
            line,
            format!("duplicate id {id:?} (first used at line {prev})"),
        ));
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillsFile {
    #[serde(default)]
    area: Vec<Spanned<SkillAreaRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SkillAreaRow {
    id: String,
    name: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    summary: String,
    items: Vec<String>,
}

/// Parses `skills.toml`.
pub fn parse_skills(path: &str, text: &str) -> Result<Vec<SkillArea>, Vec<Problem>> {
    let file: SkillsFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    let mut out = Vec::new();
    if file.area.is_empty() {
        problems.push(Problem::new(
            path,
            1,
            "no skill areas: add `[[area]]` tables",
        ));
    }
    for row in file.area {
        let line = span_line(text, &row);
        let r = row.into_inner();
        check_row_id(&mut problems, &mut seen, path, line, &r.id);
        require(&mut problems, path, line, "area name", &r.name);
        if r.name.chars().count() > 100 {
            problems.push(Problem::new(
                path,
                line,
                "area name is longer than 100 characters (Discord's limit for choices)",
            ));
        }
        if r.items.iter().all(|i| i.trim().is_empty()) {
            problems.push(Problem::new(
                path,
                line,
                format!("skill area {:?} has no items", r.name),
            ));
        }
        out.push(SkillArea {
            id: r.id,
            name: r.name.trim().to_string(),
            aliases: r.aliases,
            summary: r.summary.trim().to_string(),
            items: r
                .items
                .into_iter()
                .map(|i| i.trim().to_string())
                .filter(|i| !i.is_empty())
                .collect(),
        });
    }
    ok_if_clean(problems, out)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SalaryFile {
    title: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    band: Vec<Spanned<SalaryBandRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SalaryBandRow {
    id: String,
    level: String,
    #[serde(default)]
    aliases: Vec<String>,
    years_min: Option<u32>,
    years_max: Option<u32>,
    min_lpa: f64,
    max_lpa: Option<f64>,
    summary: Option<String>,
}

/// Parses `salary.toml`.
pub fn parse_salary(path: &str, text: &str) -> Result<SalaryTable, Vec<Problem>> {
    let file: SalaryFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut seen = HashMap::new();
    require(&mut problems, path, 1, "title", &file.title);
    if file.band.is_empty() {
        problems.push(Problem::new(
            path,
            1,
            "no salary bands: add `[[band]]` tables",
        ));
    }
    let mut bands = Vec::new();
    for row in file.band {
        let line = span_line(text, &row);
        let r = row.into_inner();
        check_row_id(&mut problems, &mut seen, path, line, &r.id);
        require(&mut problems, path, line, "band level", &r.level);
        if !r.min_lpa.is_finite() || r.min_lpa < 0.0 {
            problems.push(Problem::new(
                path,
                line,
                format!("min_lpa {} must be a positive number", r.min_lpa),
            ));
        }
        if let Some(max) = r.max_lpa {
            if !max.is_finite() || max < r.min_lpa {
                problems.push(Problem::new(
                    path,
                    line,
                    format!(
                        "band {:?}: min_lpa {} is greater than max_lpa {}",
                        r.level, r.min_lpa, max
                    ),
                ));
            }
        }
        if let (Some(a), Some(b)) = (r.years_min, r.years_max) {
            if a > b {
                problems.push(Problem::new(
                    path,
                    line,
                    format!(
                        "band {:?}: years_min {a} is greater than years_max {b}",
                        r.level
                    ),
                ));
            }
        }
        bands.push(SalaryBand {
            id: r.id,
            level: r.level.trim().to_string(),
            aliases: r.aliases,
            years_min: r.years_min,
            years_max: r.years_max,
            min_lpa: r.min_lpa,
            max_lpa: r.max_lpa,
            summary: r.summary.filter(|s| !s.trim().is_empty()),
        });
    }
    // Experience ranges must not overlap, or `--years N` would be ambiguous.
    for (i, a) in bands.iter().enumerate() {
        for b in &bands[i + 1..] {
            let (Some(a0), Some(b0)) = (a.years_min, b.years_min) else {
                continue;
            };
            let a1 = a.years_max.unwrap_or(u32::MAX);
            let b1 = b.years_max.unwrap_or(u32::MAX);
            if a0 <= b1 && b0 <= a1 {
                problems.push(Problem::new(
                    path,
                    1,
                    format!(
                        "bands {:?} and {:?} have overlapping years of experience",
                        a.level, b.level
                    ),
                ));
            }
        }
    }
    ok_if_clean(
        problems,
        SalaryTable {
            title: file.title.trim().to_string(),
            note: file.note.trim().to_string(),
            bands,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhasesFile {
    title: String,
    #[serde(default)]
    phase: Vec<Spanned<PhaseRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PhaseRow {
    number: u32,
    name: String,
    duration: String,
    focus: String,
    milestones: String,
    #[serde(default)]
    aliases: Vec<String>,
}

/// Parses `phases.toml`.
pub fn parse_phases(path: &str, text: &str) -> Result<PhaseTable, Vec<Problem>> {
    let file: PhasesFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    require(&mut problems, path, 1, "title", &file.title);
    if file.phase.is_empty() {
        problems.push(Problem::new(path, 1, "no phases: add `[[phase]]` tables"));
    }
    let mut numbers: HashMap<u32, usize> = HashMap::new();
    let mut phases = Vec::new();
    for row in file.phase {
        let line = span_line(text, &row);
        let r = row.into_inner();
        if let Some(prev) = numbers.insert(r.number, line) {
            problems.push(Problem::new(
                path,
                line,
                format!(
                    "phase number {} is used twice (first at line {prev})",
                    r.number
                ),
            ));
        }
        require(&mut problems, path, line, "phase name", &r.name);
        require(&mut problems, path, line, "phase duration", &r.duration);
        require(&mut problems, path, line, "phase focus", &r.focus);
        phases.push(Phase {
            number: r.number,
            name: r.name.trim().to_string(),
            duration: r.duration.trim().to_string(),
            focus: r.focus.trim().to_string(),
            milestones: r.milestones.trim().to_string(),
            aliases: r.aliases,
        });
    }
    phases.sort_by_key(|p| p.number);
    ok_if_clean(
        problems,
        PhaseTable {
            title: file.title.trim().to_string(),
            phases,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineFile {
    title: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    step: Vec<Spanned<TimelineRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineRow {
    years: String,
    role: String,
    work: String,
}

/// Parses `timeline.toml`.
pub fn parse_timeline(path: &str, text: &str) -> Result<Timeline, Vec<Problem>> {
    let file: TimelineFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    require(&mut problems, path, 1, "title", &file.title);
    if file.step.is_empty() {
        problems.push(Problem::new(path, 1, "no steps: add `[[step]]` tables"));
    }
    let mut steps = Vec::new();
    for row in file.step {
        let line = span_line(text, &row);
        let r = row.into_inner();
        require(&mut problems, path, line, "step years", &r.years);
        require(&mut problems, path, line, "step role", &r.role);
        require(&mut problems, path, line, "step work", &r.work);
        steps.push(TimelineStep {
            years: r.years.trim().to_string(),
            role: r.role.trim().to_string(),
            work: r.work.trim().to_string(),
        });
    }
    ok_if_clean(
        problems,
        Timeline {
            title: file.title.trim().to_string(),
            note: file.note.trim().to_string(),
            steps,
        },
    )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymsFile {
    #[serde(default)]
    synonym: Vec<Spanned<SynonymRow>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SynonymRow {
    canonical: String,
    variants: Vec<String>,
}

/// Parses `synonyms.toml`.
pub fn parse_synonyms(path: &str, text: &str) -> Result<Vec<Synonym>, Vec<Problem>> {
    let file: SynonymsFile = parse_toml(path, text)?;
    let mut problems = Vec::new();
    let mut out = Vec::new();
    for row in file.synonym {
        let line = span_line(text, &row);
        let r = row.into_inner();
        if require(&mut problems, path, line, "canonical", &r.canonical) {
            let variants: Vec<String> = r
                .variants
                .iter()
                .map(|v| v.trim().to_lowercase())
                .filter(|v| !v.is_empty())
                .collect();
            if variants.is_empty() {
                problems.push(Problem::new(
                    path,
                    line,
                    format!("synonym {:?} has no variants", r.canonical),
                ));
            }
            out.push(Synonym {
                canonical: r.canonical.trim().to_lowercase(),
                variants,
            });
        }
    }
    ok_if_clean(problems, out)
}

// ---------------------------------------------------------------------------------------
// Tables as passages
// ---------------------------------------------------------------------------------------

fn table_passage(
    source: &str,
    id: String,
    title: String,
    text: String,
    keywords: Vec<String>,
    doc_title: &str,
) -> Passage {
    Passage {
        id,
        title,
        text,
        keywords,
        doc_title: doc_title.to_string(),
        source: source.to_string(),
        line: 1,
        kind: PassageKind::Table,
    }
}

fn skill_passages(source: &str, areas: &[SkillArea]) -> Vec<Passage> {
    let doc = "Skills";
    areas
        .iter()
        .map(|a| {
            let mut text = String::new();
            if !a.summary.is_empty() {
                text.push_str(&a.summary);
                text.push('\n');
            }
            for item in &a.items {
                text.push_str("- ");
                text.push_str(item);
                text.push('\n');
            }
            let mut kw = a.aliases.clone();
            kw.push("skills".into());
            table_passage(
                source,
                format!("skills/{}", a.id),
                format!("Skill area: {}", a.name),
                text.trim_end().to_string(),
                kw,
                doc,
            )
        })
        .collect()
}

/// One line describing a band, shared by the overview and the band's own passage.
pub fn band_line(b: &SalaryBand) -> String {
    match b.years_label() {
        Some(y) => format!("{} ({y} of experience): {}", b.level, b.range_label()),
        None => format!("{}: {}", b.level, b.range_label()),
    }
}

/// The id of a salary band's own passage.
pub fn salary_band_passage_id(b: &SalaryBand) -> String {
    format!("salary/{}", b.id)
}

fn salary_passages(source: &str, table: &SalaryTable) -> Vec<Passage> {
    let mut out = Vec::new();
    let mut overview = String::new();
    for b in &table.bands {
        overview.push_str("- ");
        overview.push_str(&band_line(b));
        overview.push('\n');
    }
    if !table.note.is_empty() {
        overview.push_str(&table.note);
    }
    out.push(table_passage(
        source,
        "salary".into(),
        table.title.clone(),
        overview.trim_end().to_string(),
        vec!["salary".into(), "salaries".into(), "bands".into()],
        &table.title,
    ));
    for b in &table.bands {
        let mut text = band_line(b);
        text.push('.');
        if let Some(s) = &b.summary {
            text.push(' ');
            text.push_str(s);
        }
        if !table.note.is_empty() {
            text.push('\n');
            text.push_str(&table.note);
        }
        let mut kw = b.aliases.clone();
        kw.push("salary".into());
        let title = match b.years_label() {
            Some(y) => format!("Salary: {} ({y})", b.level),
            None => format!("Salary: {}", b.level),
        };
        out.push(table_passage(
            source,
            salary_band_passage_id(b),
            title,
            text,
            kw,
            &table.title,
        ));
    }
    out
}

/// One line describing a phase, shared by the overview and the phase's own passage.
pub fn phase_line(p: &Phase) -> String {
    format!(
        "Phase {} - {} ({}): {}",
        p.number, p.name, p.duration, p.focus
    )
}

fn phase_passages(source: &str, table: &PhaseTable) -> Vec<Passage> {
    let mut out = Vec::new();
    let overview: Vec<String> = table
        .phases
        .iter()
        .map(|p| format!("- {}", phase_line(p)))
        .collect();
    out.push(table_passage(
        source,
        "phases".into(),
        table.title.clone(),
        overview.join("\n"),
        vec!["phases".into(), "milestones".into(), "roadmap".into()],
        &table.title,
    ));
    for p in &table.phases {
        let mut text = format!("Duration: {}. Focus: {}.", p.duration, p.focus);
        if !p.milestones.is_empty() {
            text.push_str(" Milestones: ");
            text.push_str(&p.milestones);
        }
        let mut kw = p.aliases.clone();
        kw.push("phase".into());
        out.push(table_passage(
            source,
            format!("phases/{}", p.number),
            format!("Phase {}: {}", p.number, p.name),
            text,
            kw,
            &table.title,
        ));
    }
    out
}

/// One line describing a timeline step.
pub fn step_line(s: &TimelineStep) -> String {
    format!("Year {}: {} - {}", s.years, s.role, s.work)
}

fn timeline_passages(source: &str, t: &Timeline) -> Vec<Passage> {
    let mut out = Vec::new();
    let mut overview: Vec<String> = t
        .steps
        .iter()
        .map(|s| format!("- {}", step_line(s)))
        .collect();
    if !t.note.is_empty() {
        overview.push(t.note.clone());
    }
    out.push(table_passage(
        source,
        "timeline".into(),
        t.title.clone(),
        overview.join("\n"),
        vec!["timeline".into(), "career".into(), "years".into()],
        &t.title,
    ));
    for s in &t.steps {
        out.push(table_passage(
            source,
            format!("timeline/{}", slugify(&s.years)),
            format!("Year {}: {}", s.years, s.role),
            s.work.clone(),
            vec!["timeline".into(), "role".into()],
            &t.title,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[(&str, &str)]) -> Vec<SourceFile> {
        list.iter()
            .map(|(p, t)| SourceFile {
                path: p.to_string(),
                bytes: t.as_bytes().to_vec(),
            })
            .collect()
    }

    #[test]
    fn markdown_sections_become_passages() {
        let md = "+++\nid = \"role\"\ntitle = \"The role\"\nkeywords = [\"architect\"]\n+++\nIntro text.\n\n## What it is\n<!-- keywords: job, position -->\nDesigns systems.\n\n## Versus engineers\nDifferent.\n";
        let ps = parse_markdown("k/role.md", md).unwrap();
        assert_eq!(ps.len(), 3);
        assert_eq!(ps[0].id, "role");
        assert_eq!(ps[0].title, "The role");
        assert_eq!(ps[1].id, "role/what-it-is");
        assert_eq!(ps[1].text, "Designs systems.");
        assert_eq!(ps[1].line, 8);
        assert!(ps[1].keywords.contains(&"job".to_string()));
        assert!(ps[1].keywords.contains(&"architect".to_string()));
        assert!(!ps[2].keywords.contains(&"job".to_string()));
    }

    #[test]
    fn markdown_problems_name_their_lines() {
        let md = "+++\nid = \"x\"\ntitle = \"T\"\nbogus = 1\n+++\n## A\ntext\n";
        let err = parse_markdown("k/x.md", md).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].line, 4, "{:?}", err);
        assert!(err[0].message.contains("bogus"), "{:?}", err);

        let md = "+++\nid = \"x\"\n+++\n## A\n\n## B\ntext\n# Top\n";
        let err = parse_markdown("k/x.md", md).unwrap_err();
        let shown: Vec<String> = err.iter().map(|p| p.to_string()).collect();
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("k/x.md:1:") && s.contains("title")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("k/x.md:4:") && s.contains("empty")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with("k/x.md:8:")),
            "{shown:?}"
        );
    }

    #[test]
    fn markdown_without_front_matter_or_unclosed() {
        let err = parse_markdown("a.md", "\n\nhello").unwrap_err();
        assert_eq!(err[0].line, 3);
        let err = parse_markdown("a.md", "+++\nid = \"a\"\n").unwrap_err();
        assert!(err[0].message.contains("not closed"));
        let err = parse_markdown("a.md", "+++\nid = \"a\ntitle = 3\n+++\n## x\ny").unwrap_err();
        assert_eq!(err[0].line, 2, "{err:?}");
    }

    #[test]
    fn faq_headings_must_be_questions() {
        let md = "+++\nid = \"faq\"\ntitle = \"FAQ\"\nkind = \"faq\"\n+++\n## Is it hard?\nYes.\n## Statement\nNo.\n";
        let err = parse_markdown("faq.md", md).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].line, 8);
    }

    const SALARY: &str = r#"title = "Pay"
note = "Averages."
[[band]]
id = "entry"
level = "Entry level"
years_min = 0
years_max = 2
min_lpa = 10
max_lpa = 18
[[band]]
id = "top"
level = "Top"
min_lpa = 70
"#;

    #[test]
    fn salary_parses_and_labels() {
        let t = parse_salary("salary.toml", SALARY).unwrap();
        assert_eq!(t.bands[0].range_label(), "₹10-18 LPA");
        assert_eq!(t.bands[1].range_label(), "₹70 LPA and above");
        assert!(t.bands[0].covers_years(2));
        assert!(!t.bands[0].covers_years(3));
        assert!(!t.bands[1].covers_years(30));
    }

    #[test]
    fn salary_min_above_max_is_reported_at_the_band() {
        let bad = SALARY.replace("max_lpa = 18", "max_lpa = 8");
        let err = parse_salary("salary.toml", &bad).unwrap_err();
        assert_eq!(err.len(), 1);
        assert_eq!(err[0].line, 3, "{err:?}");
        assert!(err[0].message.contains("greater than max_lpa"));
    }

    #[test]
    fn unknown_keys_in_tables_name_key_and_line() {
        let bad = SALARY.replace("min_lpa = 70", "min_lpa = 70\nmaximum = 90");
        let err = parse_salary("salary.toml", &bad).unwrap_err();
        assert!(err[0].message.contains("maximum"), "{err:?}");
        assert_eq!(err[0].line, 14, "{err:?}");
    }

    #[test]
    fn whole_base_reports_every_problem_at_once() {
        let fs = files(&[
            (
                "k/a.md",
                "+++\nid = \"a\"\ntitle = \"A\"\n+++\n## One\ntext\n",
            ),
            (
                "k/b.md",
                "+++\nid = \"a\"\ntitle = \"B\"\n+++\nintro\n## One\nmore\n",
            ),
            (
                "k/salary.toml",
                "title = \"x\"\n[[band]]\nid=\"e\"\nlevel=\"E\"\nmin_lpa = 5\nmax_lpa = 1\n",
            ),
            ("k/extra.toml", "x = 1"),
            ("k/bin.md", "\u{0}ok"),
        ]);
        let mut fs = fs;
        fs.push(SourceFile {
            path: "k/latin1.md".into(),
            bytes: b"+++\nid = \"l\"\n\xff\n".to_vec(),
        });
        let err = KnowledgeBase::from_files(&fs).unwrap_err();
        let shown: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("k/b.md:6:") && s.contains("duplicate id \"a/one\"")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with("k/salary.toml:2:")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with("k/extra.toml:1:")),
            "{shown:?}"
        );
        assert!(
            shown.iter().any(|s| s.starts_with("k/bin.md:1:")),
            "{shown:?}"
        );
        assert!(
            shown
                .iter()
                .any(|s| s.starts_with("k/latin1.md:3:") && s.contains("UTF-8")),
            "{shown:?}"
        );
    }

    #[test]
    fn tables_become_passages_and_hash_is_stable() {
        let fs = files(&[
            ("k/salary.toml", SALARY),
            (
                "k/skills.toml",
                "[[area]]\nid = \"mlops\"\nname = \"MLOps & DevOps\"\naliases = [\"mlops\"]\nitems = [\"CI/CD\"]\n",
            ),
        ]);
        let kb = KnowledgeBase::from_files(&fs).unwrap();
        let ids: Vec<&str> = kb.passages.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(
            ids,
            ["salary", "salary/entry", "salary/top", "skills/mlops"]
        );
        assert!(kb
            .passage("salary/entry")
            .unwrap()
            .text
            .contains("₹10-18 LPA"));
        let again = KnowledgeBase::from_files(&fs).unwrap();
        assert_eq!(kb.content_hash, again.content_hash);
        let mut changed = fs.clone();
        changed[0].bytes.push(b'\n');
        assert_ne!(
            KnowledgeBase::from_files(&changed).unwrap().content_hash,
            kb.content_hash
        );
    }

    #[test]
    fn slugs_are_ascii() {
        assert_eq!(
            slugify("Skill area: MLOps & DevOps"),
            "skill-area-mlops-devops"
        );
        assert_eq!(slugify("4+"), "4plus");
        assert_eq!(slugify("???"), "section");
    }
}
