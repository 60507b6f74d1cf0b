//! The timeline chart: the roadmap's phases as bars of their duration in months, above the
//! sample career timeline as bars over the years. Durations and years are free text in the
//! base ("6-12 months", "Ongoing", "4+"); what parses becomes a bar (the shortest duration
//! solid, the rest of the range lighter), what does not is shown as its text with no bar,
//! so a moderator's wording never breaks the picture.

use std::sync::OnceLock;

use regex::Regex;

use super::canvas::{self, Anchor, Canvas, ChartError, ACCENT, BAR, GRID, MUTED, TEXT};
use super::WIDTH;
use crate::knowledge::{PhaseTable, Timeline};

const LABEL_X: i32 = 40;
const LABEL_WIDTH: u32 = 300;
const BARS_LEFT: i32 = 355;
/// Bars end here; their duration text goes to the right of them.
const BARS_RIGHT: i32 = WIDTH as i32 - 150;
const PHASE_ROW: i32 = 46;
const STEP_ROW: i32 = 56;
const BAR_THICKNESS: i32 = 26;
/// Rows drawn at most per section: beyond this a phone shows a picture too tall to read. The
/// rest are counted under the last row (the text reply lists them all).
const MAX_ROWS: usize = 12;

/// A duration in months, as `(shortest, longest)`: "6-12 months" is (6, 12), "1 year" is
/// (12, 12), "Ongoing" is `None`.
pub fn parse_months(duration: &str) -> Option<(f64, f64)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(?i)(\d+(?:\.\d+)?)\s*(?:(?:-|–|to)\s*(\d+(?:\.\d+)?))?\s*(months?|mos?|years?|yrs?|weeks?|wks?)\b")
            .expect("a valid pattern")
    });
    let caps = re.captures(duration)?;
    let low: f64 = caps[1].parse().ok()?;
    let high: f64 = caps.get(2).map_or(Some(low), |m| m.as_str().parse().ok())?;
    let unit = caps[3].to_ascii_lowercase();
    let per = if unit.starts_with('y') {
        12.0
    } else if unit.starts_with('w') {
        12.0 / 52.0
    } else {
        1.0
    };
    (low.is_finite() && high.is_finite() && high >= low).then_some((low * per, high * per))
}

/// A span of years in a career, as `(from, to)`: "1-2" is (1, Some(2)), "4+" is (4, None),
/// "3" (the third year) is (2, Some(3)).
pub fn parse_years(years: &str) -> Option<(f64, Option<f64>)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"(\d+(?:\.\d+)?)\s*(?:(?:-|–|to)\s*(\d+(?:\.\d+)?)|(\+))?")
            .expect("a valid pattern")
    });
    let caps = re.captures(years)?;
    let from: f64 = caps[1].parse().ok().filter(|x: &f64| x.is_finite())?;
    match (caps.get(2), caps.get(3)) {
        (Some(to), _) => {
            let to: f64 = to.as_str().parse().ok()?;
            (to.is_finite() && to >= from).then_some((from, Some(to)))
        }
        (None, Some(_)) => Some((from, None)),
        (None, None) => Some(((from - 1.0).max(0.0), Some(from))),
    }
}

pub fn draw(
    phases: &PhaseTable,
    timeline: &Timeline,
    highlight: Option<usize>,
) -> Result<Vec<u8>, ChartError> {
    let phase_rows = phases.phases.len().clamp(1, MAX_ROWS) as i32;
    let step_rows = timeline.steps.len().min(MAX_ROWS) as i32;
    let timeline_height = if step_rows == 0 {
        0
    } else {
        120 + step_rows * STEP_ROW + 40
    };
    let height = 110 + phase_rows * PHASE_ROW + 50 + timeline_height + 30;
    canvas::render(WIDTH, height as u32, |c| {
        c.heading(
            &phases.title,
            "Roadmap",
            "How long each phase takes, in months",
            24,
            30.0,
        )?;
        let bottom = phase_bars(c, phases, highlight, 110)?;
        if step_rows > 0 {
            career_bars(c, timeline, bottom + 50)?;
        }
        Ok(())
    })
}

/// Draws a row's bar from `x0` to `x1`, faded from `fade_from` on when the span is open or
/// uncertain.
fn row_bar(
    c: &Canvas<'_>,
    (x0, fade_from, x1): (i32, i32, i32),
    y: i32,
    color: plotters::style::RGBColor,
    open: bool,
) -> Result<(), ChartError> {
    use plotters::style::Color as _;
    let (top, bottom) = (y - BAR_THICKNESS / 2, y + BAR_THICKNESS / 2);
    c.rect((x0, top), (fade_from.max(x0 + 3), bottom), color.into())?;
    if x1 > fade_from {
        if open {
            let steps = 6;
            for s in 0..steps {
                let a = fade_from + (x1 - fade_from) * s / steps;
                let b = fade_from + (x1 - fade_from) * (s + 1) / steps;
                c.rect((a, top), (b, bottom), color.mix(0.75 - 0.12 * s as f64))?;
            }
        } else {
            c.rect((fade_from, top), (x1, bottom), color.mix(0.45))?;
        }
    }
    Ok(())
}

/// A horizontal scale over the bar area, from 0 to `max`, with gridlines every `step`.
struct Scale {
    max: f64,
    step: f64,
}

impl Scale {
    /// The x pixel of `value`.
    fn x(&self, value: f64) -> i32 {
        BARS_LEFT + ((BARS_RIGHT - BARS_LEFT) as f64 * value / self.max) as i32
    }

    /// Gridlines from `top` down to `y`, and the tick values under them.
    fn draw(&self, c: &Canvas<'_>, top: i32, y: i32) -> Result<(), ChartError> {
        for i in 0..=(self.max / self.step) as i32 {
            let value = i as f64 * self.step;
            let x = self.x(value);
            c.line((x, top), (x, y), GRID)?;
            let label = format!("{}", value as i64);
            c.text(
                &label,
                (x, y + 6),
                (17.0, false, MUTED),
                Anchor::CenterTop,
                120,
            )?;
        }
        Ok(())
    }
}

/// Under an axis: its unit at the right, and how many rows were left out at the left.
fn axis_notes(
    c: &Canvas<'_>,
    axis_y: i32,
    unit: &str,
    hidden: usize,
    what: &str,
) -> Result<(), ChartError> {
    let muted = (17.0, false, MUTED);
    c.text(
        unit,
        (BARS_RIGHT + 24, axis_y + 6),
        muted,
        Anchor::LeftTop,
        120,
    )?;
    if hidden > 0 {
        let more = format!("+{hidden} more {what} (listed in the text)");
        c.text(
            &more,
            (LABEL_X, axis_y + 6),
            muted,
            Anchor::LeftTop,
            LABEL_WIDTH,
        )?;
    }
    Ok(())
}

/// The phases from `top`; returns the y below their axis.
fn phase_bars(
    c: &Canvas<'_>,
    phases: &PhaseTable,
    highlight: Option<usize>,
    top: i32,
) -> Result<i32, ChartError> {
    let rows = &phases.phases[..phases.phases.len().min(MAX_ROWS)];
    let parsed: Vec<Option<(f64, f64)>> = rows.iter().map(|p| parse_months(&p.duration)).collect();
    let longest = parsed
        .iter()
        .flatten()
        .map(|(_, hi)| *hi)
        .fold(0.0, f64::max);
    let step = if longest <= 12.0 {
        3.0
    } else {
        (longest / 4.0 / 6.0).ceil() * 6.0
    };
    let scale = Scale {
        max: ((longest.max(step)) / step).ceil() * step,
        step,
    };
    let x = |months: f64| scale.x(months);
    let axis_y = top + PHASE_ROW * rows.len().max(1) as i32;
    scale.draw(c, top, axis_y)?;
    axis_notes(
        c,
        axis_y,
        "months",
        phases.phases.len() - rows.len(),
        "phases",
    )?;
    if rows.is_empty() {
        c.text(
            "No roadmap phases in the knowledge base yet",
            (LABEL_X, top + PHASE_ROW / 2),
            (20.0, false, MUTED),
            Anchor::LeftMiddle,
            WIDTH - 80,
        )?;
    }
    for (i, (phase, months)) in rows.iter().zip(&parsed).enumerate() {
        let y = top + PHASE_ROW * i as i32 + PHASE_ROW / 2;
        let lit = highlight == Some(i);
        let (color, label_color) = if lit { (ACCENT, ACCENT) } else { (BAR, TEXT) };
        // The phase's name is its focus; a focus that says more is added to the label.
        let label = match phase.focus_beyond_name() {
            Some(focus) => format!("{}. {}: {focus}", phase.number, phase.name),
            None => format!("{}. {}", phase.number, phase.name),
        };
        c.text(
            &label,
            (LABEL_X, y),
            (20.0, lit, label_color),
            Anchor::LeftMiddle,
            LABEL_WIDTH,
        )?;
        let end = match months {
            Some((lo, hi)) => {
                row_bar(c, (BARS_LEFT, x(*lo), x(*hi)), y, color, false)?;
                x(*hi)
            }
            // Ongoing or unreadable: a bar that fades over the whole scale.
            None => {
                row_bar(c, (BARS_LEFT, BARS_LEFT + 3, BARS_RIGHT), y, color, true)?;
                BARS_RIGHT
            }
        };
        c.text(
            &phase.duration,
            (end + 10, y),
            (18.0, false, MUTED),
            Anchor::LeftMiddle,
            (WIDTH as i32 - end - 20).max(20) as u32,
        )?;
    }
    Ok(axis_y + 30)
}

/// The sample career timeline from `top`.
fn career_bars(c: &Canvas<'_>, timeline: &Timeline, top: i32) -> Result<(), ChartError> {
    c.heading(
        &timeline.title,
        "Sample career timeline",
        "The role you might hold in each year of your career",
        top,
        26.0,
    )?;
    let rows_top = top + 80;
    let rows = &timeline.steps[..timeline.steps.len().min(MAX_ROWS)];
    let parsed: Vec<Option<(f64, Option<f64>)>> =
        rows.iter().map(|s| parse_years(&s.years)).collect();
    let last = parsed
        .iter()
        .flatten()
        .map(|(from, to)| to.unwrap_or(from + 1.0))
        .fold(1.0, f64::max)
        .ceil();
    let step = (last / 6.0).ceil().max(1.0);
    let scale = Scale {
        max: (last / step).ceil() * step,
        step,
    };
    let x = |year: f64| scale.x(year);
    let axis_y = rows_top + STEP_ROW * rows.len() as i32;
    scale.draw(c, rows_top, axis_y)?;
    axis_notes(
        c,
        axis_y,
        "years",
        timeline.steps.len() - rows.len(),
        "steps",
    )?;
    for (i, (step, years)) in rows.iter().zip(&parsed).enumerate() {
        let y = rows_top + STEP_ROW * i as i32 + STEP_ROW / 2;
        let lines = c.wrap(&step.role, 18.0, false, LABEL_WIDTH, 2)?;
        let first = y - 11 * (lines.len() as i32 - 1);
        for (n, line) in lines.iter().enumerate() {
            c.text(
                line,
                (LABEL_X, first + 22 * n as i32),
                (18.0, false, TEXT),
                Anchor::LeftMiddle,
                LABEL_WIDTH,
            )?;
        }
        let end = match years {
            Some((from, Some(to))) => {
                row_bar(c, (x(*from), x(*to), x(*to)), y, BAR, false)?;
                x(*to)
            }
            Some((from, None)) => {
                row_bar(c, (x(*from), x(*from + 0.3), BARS_RIGHT), y, BAR, true)?;
                BARS_RIGHT
            }
            None => BARS_LEFT,
        };
        let years_text = step.years.trim();
        let label = if years_text.chars().any(char::is_alphabetic) {
            years_text.to_string()
        } else {
            format!("{years_text} yrs")
        };
        c.text(
            &label,
            (end + 10, y),
            (18.0, false, MUTED),
            Anchor::LeftMiddle,
            (WIDTH as i32 - end - 20).max(20) as u32,
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_months() {
        assert_eq!(parse_months("6-12 months"), Some((6.0, 12.0)));
        assert_eq!(parse_months("6 months"), Some((6.0, 6.0)));
        assert_eq!(parse_months("1–2 years"), Some((12.0, 24.0)));
        assert_eq!(parse_months("about 1 year"), Some((12.0, 12.0)));
        assert_eq!(parse_months("Ongoing"), None);
        assert_eq!(parse_months("12-6 months"), None);
    }

    #[test]
    fn years_read_as_spans() {
        assert_eq!(parse_years("1-2"), Some((1.0, Some(2.0))));
        assert_eq!(parse_years("4+"), Some((4.0, None)));
        assert_eq!(parse_years("Year 3"), Some((2.0, Some(3.0))));
        assert_eq!(parse_years("later"), None);
    }
}
