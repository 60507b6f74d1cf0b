//! Markdown prose: front matter, then one passage per `##` section (or per FAQ question).

use serde::Deserialize;
use toml::Spanned;

use super::problems::*;
use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontMatter {
    id: Option<Spanned<String>>,
    title: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    kind: Option<Spanned<String>>,
}

/// One parsed Markdown file: its document id, where that id is declared, and its passages.
pub(super) struct MarkdownDoc {
    pub id: String,
    pub id_line: usize,
    pub passages: Vec<Passage>,
}

/// Parses one Markdown knowledge file into passages, or every problem found in it.
pub fn parse_markdown(path: &str, text: &str) -> Result<Vec<Passage>, Vec<Problem>> {
    parse_markdown_doc(path, text).map(|doc| doc.passages)
}

/// Characters that take no room on screen: a section made only of them is empty.
pub(super) fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{00ad}'
        )
}

/// `text` without HTML comments (moderators' notes, never shown on Discord, where they would
/// appear literally) and without zero-width spaces; `Err(offset)` of a `<!--` never closed.
fn visible_text(text: &str) -> Result<String, usize> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut consumed = 0;
    while let Some(open) = rest.find("<!--") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open + 4..].find("-->") else {
            return Err(consumed + open);
        };
        let skip = open + 4 + close + 3;
        consumed += skip;
        rest = &rest[skip..];
    }
    out.push_str(rest);
    Ok(out.replace(['\u{200b}', '\u{2060}', '\u{feff}'], ""))
}

/// What is wrong with a line that looks like a heading but is not a `## ` one, if anything.
fn heading_problem(trimmed: &str) -> Option<&'static str> {
    if trimmed == "##" {
        Some("heading `##` has no title")
    } else if trimmed.starts_with("###") {
        Some("`###` subheadings are not supported: start a new section with `## `, or write the line as plain text")
    } else if trimmed.starts_with("##") {
        Some("a heading needs a space after `##`: write `## Heading`")
    } else if trimmed.starts_with("# ") || trimmed == "#" {
        Some("use `## ` for section headings (a single `#` is not a section)")
    } else {
        None
    }
}

/// The fence marker (```` ``` ```` or `~~~`) a line opens or closes a code block with.
fn fence_marker(trimmed: &str) -> Option<&'static str> {
    ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m))
}

/// Parses one Markdown file, keeping its document id for the base-wide uniqueness check.
pub(super) fn parse_markdown_doc(path: &str, text: &str) -> Result<MarkdownDoc, Vec<Problem>> {
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
    let id_line = fm
        .id
        .as_ref()
        .map_or(first + 1, |id| fm_first_line + span_line(&fm_text, id) - 1);
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
    // The open code fence's marker and line: headings inside a fence are code, not sections.
    let mut fence: Option<(&str, usize)> = None;
    for (i, raw) in lines.iter().enumerate().skip(close + 1) {
        let line_no = i + 1;
        let trimmed = raw.trim_start();
        if let Some(marker) = fence_marker(trimmed) {
            fence = match fence {
                None => Some((marker, line_no)),
                Some((open, _)) if open == marker => None,
                still_open => still_open,
            };
        }
        if fence.is_none() {
            if let Some(h) = trimmed.strip_prefix("## ") {
                sections.push(Section {
                    line: line_no,
                    heading: Some(h.trim()),
                    body: Vec::new(),
                });
                continue;
            }
            if let Some(message) = heading_problem(trimmed) {
                problems.push(Problem::new(path, line_no, message));
                continue;
            }
        }
        if let Some(s) = sections.last_mut() {
            s.body.push(raw);
        }
    }
    if let Some((marker, line)) = fence {
        problems.push(Problem::new(
            path,
            line,
            format!("this code block is never closed: add a line `{marker}` where it ends (until then every heading below it is hidden)"),
        ));
    }

    let mut passages = Vec::new();
    let mut slugs: HashMap<String, usize> = HashMap::new();
    for section in sections {
        let mut keywords = doc_keywords.clone();
        let mut body = section.body.as_slice();
        // The file line of `body[0]`: the line under the heading (or the front matter).
        let mut body_line = if section.heading.is_some() {
            section.line + 1
        } else {
            section.line
        };
        // Skip leading blank lines, then take an optional keywords comment.
        while body.first().is_some_and(|l| l.trim().is_empty()) {
            body = &body[1..];
            body_line += 1;
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
                    body_line += 1;
                }
            }
        }
        let joined = body.join("\n");
        let text = match visible_text(&joined) {
            Ok(t) => t.trim().to_string(),
            Err(offset) => {
                problems.push(Problem::new(
                    path,
                    body_line + joined[..offset].matches('\n').count(),
                    "this comment `<!--` is never closed: end it with `-->`",
                ));
                continue;
            }
        };
        let passage = |id: String, title: String, text: String, keywords: Vec<String>| Passage {
            id,
            title,
            text,
            keywords,
            doc_title: doc_title.clone(),
            source: path.to_string(),
            line: section.line,
            kind,
            asked_as: Vec::new(),
        };
        let Some(heading) = section.heading else {
            // Intro text before the first heading is optional.
            if !text.chars().all(is_invisible) && !doc_id.is_empty() {
                passages.push(passage(doc_id.clone(), doc_title.clone(), text, keywords));
            }
            continue;
        };
        if text.chars().all(is_invisible) {
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
        passages.push(passage(
            format!("{doc_id}/{slug}"),
            heading.to_string(),
            text,
            keywords,
        ));
    }
    if passages.is_empty() && problems.is_empty() {
        problems.push(Problem::new(
            path,
            close + 1,
            "the document has no text: add `## ` sections below the front matter",
        ));
    }
    ok_if_clean(
        problems,
        MarkdownDoc {
            id: doc_id,
            id_line,
            passages,
        },
    )
}
