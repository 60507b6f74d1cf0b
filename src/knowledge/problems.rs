//! Problems: what is wrong with a knowledge file, always as `path:line: message`.

use std::fmt;

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
    pub(crate) fn new(path: &str, line: usize, message: impl Into<String>) -> Self {
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

/// 1-based line of byte `offset` in `bytes`.
pub(super) fn line_of(bytes: &[u8], offset: usize) -> usize {
    let end = offset.min(bytes.len());
    bytes[..end].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Turns a toml error into a problem at the right line; `first_line` is the file line where
/// the TOML text starts (front matter starts below the `+++`).
pub(super) fn toml_problem(
    path: &str,
    toml_text: &str,
    first_line: usize,
    err: &toml::de::Error,
) -> Problem {
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

pub(super) fn span_line<T>(text: &str, s: &Spanned<T>) -> usize {
    line_of(text.as_bytes(), s.span().start)
}

pub(super) fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &str,
    text: &str,
) -> Result<T, Vec<Problem>> {
    toml::from_str(text).map_err(|e| vec![toml_problem(path, text, 1, &e)])
}

/// `value` if no problem was found, else the problems.
pub(super) fn ok_if_clean<T>(problems: Vec<Problem>, value: T) -> Result<T, Vec<Problem>> {
    if problems.is_empty() {
        Ok(value)
    } else {
        Err(problems)
    }
}

/// Reports a missing or blank required string at the row's line.
pub(super) fn require(
    problems: &mut Vec<Problem>,
    path: &str,
    line: usize,
    what: &str,
    value: &str,
) -> bool {
    if value.trim().is_empty() {
        problems.push(Problem::new(path, line, format!("{what} is empty")));
        false
    } else {
        true
    }
}
