//! Highlighting: the part of a passage worth showing, with the matched words in bold.

use std::ops::Range;

use super::Engine;

/// The passage cut to at most `max_chars` characters around the densest run of matched
/// terms, with matches in `**bold**`. Works for corrected (fuzzy) matches too, since the
/// engine's corrections are real index terms.
pub fn snippet(engine: &Engine, text: &str, terms: &[String], max_chars: usize) -> String {
    let matches: Vec<Range<usize>> = engine
        .terms_in(text)
        .into_iter()
        .filter(|(t, _)| terms.iter().any(|q| q == t))
        .map(|(_, r)| r)
        .collect();
    highlight(text, &matches, max_chars)
}

/// Marks `matches` (sorted byte ranges) in `**bold**` within a window of at most `max_chars`
/// characters in total, cutting with "…" on char boundaries. The window starts at the word
/// before the match that leaves the most matches inside it.
pub fn highlight(text: &str, matches: &[Range<usize>], max_chars: usize) -> String {
    let matches: Vec<Range<usize>> = matches
        .iter()
        .filter(|m| {
            m.start < m.end && text.is_char_boundary(m.start) && text.is_char_boundary(m.end)
        })
        .cloned()
        .collect();
    let fits = text.chars().count() + 4 * matches.len() <= max_chars;
    let (start, end) = if fits {
        (0, text.len())
    } else {
        let mut starts = vec![0];
        starts.extend(matches.iter().map(|m| back_to_boundary(text, m.start, 40)));
        let mut best = (0, 0, 0); // (count, start, end)
        for from in starts {
            let (count, to) = window(text, from, &matches, max_chars);
            if count > best.0 || (count == best.0 && best.2 == 0) {
                best = (count, from, to);
            }
        }
        (best.1, best.2)
    };
    let mut out = String::new();
    if start > 0 {
        out.push('…');
    }
    let mut pos = start;
    for m in &matches {
        if m.start < pos || m.end > end {
            continue;
        }
        out.push_str(&text[pos..m.start]);
        out.push_str("**");
        out.push_str(&text[m.clone()]);
        out.push_str("**");
        pos = m.end;
    }
    out.push_str(&text[pos..end.max(pos)]);
    if end < text.len() {
        out.push('…');
    }
    out
}

/// The end byte of a window starting at `from` that fits `max_chars` with two ellipses and
/// four marker characters per match inside it, and how many matches it holds.
fn window(text: &str, from: usize, matches: &[Range<usize>], max_chars: usize) -> (usize, usize) {
    let end_after = |chars: usize| -> usize {
        text[from..]
            .char_indices()
            .nth(chars)
            .map_or(text.len(), |(i, _)| from + i)
    };
    let inside = |to: usize| {
        matches
            .iter()
            .filter(|m| m.start >= from && m.end <= to)
            .count()
    };
    let mut budget = max_chars.saturating_sub(2);
    let mut to = end_after(budget);
    // Markers shrink the window, which can only drop matches: two rounds settle it.
    for _ in 0..2 {
        budget = max_chars.saturating_sub(2 + 4 * inside(to));
        to = end_after(budget);
    }
    (inside(to), to)
}

/// A byte offset up to `max_chars` characters before `at`, at the start of a word or line.
fn back_to_boundary(text: &str, at: usize, max_chars: usize) -> usize {
    let at = at.min(text.len());
    let mut start = at;
    for (i, c) in text[..at].char_indices().rev().take(max_chars) {
        if c == '\n' || c == '.' {
            return i + c.len_utf8();
        }
        start = i;
    }
    if start == 0 || start == at {
        return start;
    }
    // Move forward to just after whitespace so we do not start mid-word.
    match text[start..at]
        .char_indices()
        .find(|(_, c)| c.is_whitespace())
    {
        Some((ws, c)) => start + ws + c.len_utf8(),
        None => start,
    }
}
