//! Tables as passages: each row, and one overview per table, indexed like prose so `/ask`
//! finds them too.

use super::*;

pub(super) fn table_passage(
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
        asked_as: Vec::new(),
    }
}

pub(super) fn skill_passages(source: &str, areas: &[SkillArea]) -> Vec<Passage> {
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

pub(super) fn salary_passages(source: &str, table: &SalaryTable) -> Vec<Passage> {
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
    match p.focus_beyond_name() {
        Some(focus) => format!("Phase {} - {} ({}): {focus}", p.number, p.name, p.duration),
        None => format!("Phase {} - {} ({})", p.number, p.name, p.duration),
    }
}

pub(super) fn phase_passages(source: &str, table: &PhaseTable) -> Vec<Passage> {
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
        let mut text = format!("Duration: {}.", p.duration);
        if let Some(focus) = p.focus_beyond_name() {
            text.push_str(&format!(" Focus: {focus}."));
        }
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

pub(super) fn timeline_passages(source: &str, t: &Timeline) -> Vec<Passage> {
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
