//! Renderers: answers and lookups as [`Card`]s, and cards as plain text for the terminal.
//!
//! A card is the one shape every reply has (title, body, fields, footer), built by pure
//! functions from engine output. The CLI prints it as text here; the bot turns the same card
//! into a Discord embed and applies Discord's limits there. So what `/skills mlops` says and
//! what `careerbot skills mlops` says cannot drift apart.

use std::fmt::Write as _;

use crate::knowledge::{band_line, phase_line, step_line, KnowledgeBase};
use crate::lookup::{self, NotFound};
use crate::search::{Answer, Engine, Signals};

/// How the lookups are invoked where the card is shown: `/skills` in Discord, `careerbot
/// skills` in a terminal. The renderers name them through this, so the command syntax of
/// each front end stays in that front end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invocations {
    /// The three lookups, e.g. "/skills, /salary, /timeline".
    pub lookups: &'static str,
    /// One skill area, e.g. "/skills area:<name>".
    pub skill_area: &'static str,
}

/// The terminal's invocations.
pub const CLI: Invocations = Invocations {
    lookups: "careerbot skills, careerbot salary, careerbot timeline",
    skill_area: "careerbot skills <area>",
};

/// One reply: what a user sees for a question or a lookup.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Card {
    pub title: String,
    /// Shown before the body, e.g. the "did you mean" line.
    pub notice: Option<String>,
    pub body: String,
    /// Named extra sections, e.g. ("See also", "A · B").
    pub fields: Vec<(String, String)>,
    pub footer: Option<String>,
}

/// The card for an answer: best passage, its title as citation, up to two "see also" titles,
/// and a "did you mean" line; or a polite refusal with the closest topics.
pub fn answer_card(engine: &Engine, answer: &Answer, how: &Invocations) -> Card {
    let Some(best) = answer.hits.first().filter(|_| answer.answered) else {
        return refusal_card(engine.knowledge(), answer, how);
    };
    let mut fields = Vec::new();
    let see_also: Vec<&str> = answer
        .hits
        .iter()
        .skip(1)
        .take(2)
        .map(|h| h.title.as_str())
        .collect();
    if !see_also.is_empty() {
        fields.push(("See also".to_string(), see_also.join(" · ")));
    }
    Card {
        title: best.title.clone(),
        notice: answer
            .did_you_mean
            .as_ref()
            .map(|q| format!("Did you mean: \"{q}\"?")),
        body: best.text.clone(),
        fields,
        footer: Some(format!("Source: {}", source_name(&best.source))),
    }
}

/// `ask --explain`: the decision and why, then each candidate's signals, best first.
pub fn explain_text(engine: &Engine, answer: &Answer, candidates: &[(String, Signals)]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "question: {}", answer.question);
    let _ = writeln!(out, "engine: {}", engine.mode().label());
    if let Some(q) = &answer.did_you_mean {
        let _ = writeln!(out, "did you mean: {q}");
    }
    if let Some(d) = &answer.decision {
        let _ = writeln!(out, "{}", d.reason);
    }
    if let Some(t) = answer.nearest_topic.as_ref().filter(|t| !t.refused) {
        let _ = writeln!(
            out,
            "nearest not-covered topic: {:?} at similarity {:.3}, the nearest passage {:.3} (a topic refuses from {:.2}, when nearer than every passage)",
            t.name,
            t.similarity,
            t.nearest_passage,
            crate::search::fuse::NOT_COVERED_SIMILARITY
        );
    }
    let _ = writeln!(
        out,
        "\n{:>3}  {:>8}  {:>8}  {:>8}  {:>6}  passage",
        "#", "semantic", "lexical", "coverage", "fused"
    );
    for (i, (title, s)) in candidates.iter().enumerate() {
        let semantic = s.semantic.map_or("-".to_string(), |x| format!("{x:.3}"));
        let _ = writeln!(
            out,
            "{:>3}  {:>8}  {:>8.3}  {:>7.0}%  {:>6.3}  {}",
            i + 1,
            semantic,
            s.lexical,
            s.coverage * 100.0,
            s.fused,
            title
        );
    }
    out
}

/// "knowledge/role.md" -> "role.md": users need the file, not our directory layout.
fn source_name(source: &str) -> &str {
    source.rsplit(['/', '\\']).next().unwrap_or(source)
}

fn refusal_card(kb: &KnowledgeBase, answer: &Answer, how: &Invocations) -> Card {
    let closest = &answer.suggestions;
    let mut topics: Vec<&str> = Vec::new();
    for p in &kb.passages {
        if !topics.contains(&p.doc_title.as_str()) {
            topics.push(&p.doc_title);
        }
    }
    let not_covered = answer.nearest_topic.as_ref().filter(|t| t.refused);
    let mut body = match (&answer.unstated, not_covered) {
        // The base's owners listed the topic as one it does not cover: say so, by name.
        (_, Some(t)) => format!(
            "My knowledge base doesn't cover {}, so I can't answer that. I can answer questions about these topics:\n",
            t.name
        ),
        // A question about a topic the base covers, asking for a figure it does not give,
        // is told so: the user learns the section exists and what it lacks.
        (Some(u), None) => format!(
            "The nearest section I have, \"{}\", doesn't give {}, so I can't answer that. I can answer questions about these topics:\n",
            u.nearest, u.asked_for
        ),
        (None, None) => String::from(
            "I don't have that in my knowledge base. I can answer questions about these topics:\n",
        ),
    };
    for t in topics.iter().take(12) {
        let _ = writeln!(body, "- {t}");
    }
    let mut fields = Vec::new();
    if !closest.is_empty() {
        fields.push(("Closest sections".to_string(), closest.join(" · ")));
    }
    fields.push((
        "Try".into(),
        format!(
            "{}, or ask about the role, education, resources or common mistakes",
            how.lookups
        ),
    ));
    Card {
        title: "Sorry, I don't know that one".into(),
        notice: None,
        body: body.trim_end().to_string(),
        fields,
        footer: None,
    }
}

/// All skill areas with one line each, or one area with its items.
pub fn skills_card(
    kb: &KnowledgeBase,
    area: Option<&str>,
    how: &Invocations,
) -> Result<Card, NotFound> {
    match area.map(str::trim).filter(|a| !a.is_empty()) {
        None => {
            let mut body = String::new();
            for a in &kb.skills {
                let _ = writeln!(body, "**{}**: {}", a.name, a.summary);
            }
            Ok(Card {
                title: "Skill areas".into(),
                body: body.trim_end().to_string(),
                footer: Some(format!("Pick one for its details: {}", how.skill_area)),
                ..Card::default()
            })
        }
        Some(q) => {
            let a = lookup::skill_area(kb, q)?;
            let mut body = String::new();
            if !a.summary.is_empty() {
                let _ = writeln!(body, "{}\n", a.summary);
            }
            for item in &a.items {
                let _ = writeln!(body, "- {item}");
            }
            Ok(Card {
                title: format!("Skill area: {}", a.name),
                body: body.trim_end().to_string(),
                ..Card::default()
            })
        }
    }
}

/// The salary table, or the band for a level name or for years of experience.
pub fn salary_card(
    kb: &KnowledgeBase,
    level: Option<&str>,
    years: Option<u32>,
) -> Result<Card, NotFound> {
    let table = &kb.salary;
    let note = (!table.note.is_empty()).then(|| table.note.clone());
    Ok(match lookup::chosen_band(kb, level, years)? {
        None => {
            let mut body = String::new();
            for b in &table.bands {
                let _ = writeln!(body, "- {}", band_line(b));
            }
            Card {
                title: table.title.clone(),
                body: body.trim_end().to_string(),
                footer: note,
                ..Card::default()
            }
        }
        Some(b) => {
            let mut body = format!("**{}**", b.range_label());
            if let Some(y) = b.years_label() {
                let _ = write!(body, " with {y} of experience");
            }
            if let Some(s) = &b.summary {
                let _ = write!(body, "\n{s}");
            }
            Card {
                title: format!("Salary: {}", b.level),
                body,
                footer: note,
                ..Card::default()
            }
        }
    })
}

/// The phase table and the sample career timeline, or one phase in detail.
pub fn timeline_card(kb: &KnowledgeBase, phase: Option<&str>) -> Result<Card, NotFound> {
    match phase.map(str::trim).filter(|p| !p.is_empty()) {
        None => {
            let mut body = String::new();
            for p in &kb.phases.phases {
                let _ = writeln!(body, "- {}", phase_line(p));
            }
            let mut timeline = String::new();
            for s in &kb.timeline.steps {
                let _ = writeln!(timeline, "- {}", step_line(s));
            }
            let mut fields = Vec::new();
            if !timeline.is_empty() {
                fields.push((kb.timeline.title.clone(), timeline.trim_end().to_string()));
            }
            Ok(Card {
                title: kb.phases.title.clone(),
                body: body.trim_end().to_string(),
                fields,
                footer: (!kb.timeline.note.is_empty()).then(|| kb.timeline.note.clone()),
                ..Card::default()
            })
        }
        Some(q) => {
            let p = lookup::phase(kb, q)?;
            let mut body = format!("**Duration:** {}", p.duration);
            if let Some(focus) = p.focus_beyond_name() {
                let _ = write!(body, "\n**Focus:** {focus}");
            }
            if !p.milestones.is_empty() {
                let _ = write!(body, "\n**Milestones:** {}", p.milestones);
            }
            Ok(Card {
                title: format!("Phase {}: {}", p.number, p.name),
                body,
                ..Card::default()
            })
        }
    }
}

/// A card as terminal text: title, notice, body, fields, footer.
pub fn card_text(card: &Card) -> String {
    let mut out = String::new();
    if let Some(n) = &card.notice {
        let _ = writeln!(out, "{n}\n");
    }
    let _ = writeln!(out, "{}", card.title);
    let _ = writeln!(out, "{}", "=".repeat(card.title.chars().count().min(72)));
    let _ = writeln!(out, "{}", card.body.replace("**", ""));
    for (name, value) in &card.fields {
        let _ = writeln!(out, "\n{name}:\n{}", value.replace("**", ""));
    }
    if let Some(f) = &card.footer {
        let _ = writeln!(out, "\n{f}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::{parse_salary, SourceFile};

    #[test]
    fn salary_card_by_years_and_level() {
        let kb = KnowledgeBase {
            salary: parse_salary(
                "s",
                "title = \"Pay\"\nnote = \"Check current numbers.\"\n[[band]]\nid = \"mid\"\nlevel = \"Mid level\"\nyears_min = 3\nyears_max = 6\nmin_lpa = 20\nmax_lpa = 35\n",
            )
            .unwrap(),
            ..Default::default()
        };
        let c = salary_card(&kb, None, Some(4)).unwrap();
        assert_eq!(c.title, "Salary: Mid level");
        assert!(c.body.contains("₹20-35 LPA"));
        assert_eq!(c.footer.as_deref(), Some("Check current numbers."));
        assert!(salary_card(&kb, None, Some(40)).is_err());
        let all = salary_card(&kb, None, None).unwrap();
        assert!(card_text(&all).contains("Mid level (3-6 years of experience): ₹20-35 LPA"));
    }

    #[test]
    fn refusal_lists_topics() {
        let files = [SourceFile {
            path: "k/a.md".into(),
            bytes: b"+++\nid = \"a\"\ntitle = \"The role\"\n+++\n## One\nArchitects design.\n"
                .to_vec(),
        }];
        let e = Engine::build(KnowledgeBase::from_files(&files).unwrap()).unwrap();
        let c = answer_card(&e, &e.ask("pizza dough", 3), &CLI);
        assert!(c.body.contains("The role"));
        assert!(
            c.fields.iter().all(|(n, _)| n != "Closest sections"),
            "nothing came close"
        );
        // A refusal whose best passage came near (the engine decides that) names it.
        let mut near = e.ask("architects sourdough", 3);
        assert!(!near.answered);
        near.suggestions = vec!["One".into()];
        let c = answer_card(&e, &near, &CLI);
        assert!(
            c.fields
                .iter()
                .any(|(n, v)| n == "Closest sections" && v == "One"),
            "{:?}",
            c.fields
        );
        let c = answer_card(&e, &e.ask("architects", 3), &CLI);
        assert_eq!(c.title, "One");
        assert_eq!(c.footer.as_deref(), Some("Source: a.md"));
        // Refused for a figure the nearest section does not state: the card says which.
        let mut fee = e.ask("pizza dough", 3);
        fee.unstated = Some(crate::search::Unstated {
            asked_for: "a price".into(),
            nearest: "One".into(),
        });
        let c = answer_card(&e, &fee, &CLI);
        assert!(
            c.body
                .starts_with("The nearest section I have, \"One\", doesn't give a price"),
            "{}",
            c.body
        );
        assert!(c.body.contains("The role"), "the topics follow");
    }
}
