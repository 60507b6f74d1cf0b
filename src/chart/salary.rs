//! The salary chart: one floating bar per band, from its lowest to its highest average pay,
//! the level and its years under each bar. An open-ended band ("₹70 LPA and above") fades
//! out upwards instead of pretending to have a top.

use super::canvas::{self, Anchor, Canvas, ChartError, ACCENT, BAR, GRID, MUTED, TEXT};
use super::WIDTH;
use crate::knowledge::{SalaryBand, SalaryTable};

const HEIGHT: u32 = 520;
const LEFT: i32 = 90;
const RIGHT: i32 = WIDTH as i32 - 40;
const TOP: i32 = 120;
const BOTTOM: i32 = 400;
/// Bands drawn at most (each needs room for its level's name).
const MAX_BANDS: usize = 8;

pub fn draw(table: &SalaryTable, highlight: Option<usize>) -> Result<Vec<u8>, ChartError> {
    canvas::render(WIDTH, HEIGHT, |c| {
        c.heading(
            &table.title,
            "Salaries",
            "Average pay in ₹ lakh per annum (LPA), by level and experience",
            24,
            30.0,
        )?;
        if table.bands.is_empty() {
            let middle = (WIDTH as i32 / 2, (TOP + BOTTOM) / 2);
            return c.text(
                "No salary bands in the knowledge base yet",
                middle,
                (24.0, false, MUTED),
                Anchor::CenterTop,
                WIDTH - 80,
            );
        }
        // Beyond MAX_BANDS the labels could not be read on a phone: the first ones are drawn
        // and the rest counted.
        let shown = &table.bands[..table.bands.len().min(MAX_BANDS)];
        if shown.len() < table.bands.len() {
            let more = format!(
                "+{} more bands: see the text",
                table.bands.len() - shown.len()
            );
            c.text(
                &more,
                (RIGHT, 100),
                (18.0, false, MUTED),
                Anchor::RightMiddle,
                400,
            )?;
        }
        let scale = Scale::for_bands(shown);
        axis(c, &scale)?;
        let slot = (RIGHT - LEFT) / shown.len() as i32;
        for (i, band) in shown.iter().enumerate() {
            let centre = LEFT + slot * i as i32 + slot / 2;
            bar(c, &scale, band, centre, slot, highlight == Some(i))?;
        }
        Ok(())
    })
}

/// The vertical scale: LPA to pixels, with round gridline steps.
struct Scale {
    max: f64,
    step: f64,
}

impl Scale {
    fn for_bands(bands: &[SalaryBand]) -> Scale {
        let highest = bands
            .iter()
            .map(|b| open_top(b).max(b.max_lpa.unwrap_or(0.0)))
            .filter(|x| x.is_finite())
            .fold(1.0_f64, f64::max);
        let wanted = highest * 1.12;
        // A round step (1, 2 or 5 times a power of ten) giving at most 6 gridlines above 0,
        // whatever the figures' size.
        let magnitude = 10f64.powf((wanted / 6.0).log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .into_iter()
            .map(|m| m * magnitude)
            .find(|s| wanted / s <= 6.0)
            .unwrap_or(10.0 * magnitude);
        Scale {
            max: (wanted / step).ceil() * step,
            step,
        }
    }

    fn y(&self, lpa: f64) -> i32 {
        let share = (lpa / self.max).clamp(0.0, 1.0);
        BOTTOM - ((BOTTOM - TOP) as f64 * share).round() as i32
    }
}

/// Where an open-ended band's bar fades out: far enough above its floor to read as "and up".
fn open_top(band: &SalaryBand) -> f64 {
    band.min_lpa * 1.2 + 5.0
}

fn axis(c: &Canvas<'_>, scale: &Scale) -> Result<(), ChartError> {
    let lines = (scale.max / scale.step).round() as i64;
    for i in 0..=lines {
        let value = i as f64 * scale.step;
        let y = scale.y(value);
        c.line((LEFT, y), (RIGHT, y), GRID)?;
        let label = format!("₹{}", num(value));
        c.text(
            &label,
            (LEFT - 12, y),
            (18.0, false, MUTED),
            Anchor::RightMiddle,
            90,
        )?;
    }
    Ok(())
}

fn bar(
    c: &Canvas<'_>,
    scale: &Scale,
    band: &SalaryBand,
    centre: i32,
    slot: i32,
    highlighted: bool,
) -> Result<(), ChartError> {
    let color = if highlighted { ACCENT } else { BAR };
    let half = (slot as f64 * 0.28) as i32;
    let (x0, x1) = (centre - half, centre + half);
    let floor = scale.y(band.min_lpa);
    let (top, label) = match band.max_lpa {
        Some(max) => {
            let top = scale.y(max);
            // A band of one figure still shows as a sliver.
            c.rect((x0, top.min(floor - 4)), (x1, floor), color.into())?;
            (top, format!("₹{}-{}", num(band.min_lpa), num(max)))
        }
        None => {
            let top = scale.y(open_top(band));
            let solid = floor - (floor - top) / 2;
            c.rect((x0, solid), (x1, floor), color.into())?;
            // Fading steps up to `top`: the band has no ceiling.
            let steps = 5;
            for s in 0..steps {
                let y1 = solid - (solid - top) * s / steps;
                let y0 = solid - (solid - top) * (s + 1) / steps;
                let alpha = 0.8 - 0.15 * s as f64;
                c.rect(
                    (x0, y0),
                    (x1, y1),
                    plotters::style::Color::mix(&color, alpha),
                )?;
            }
            (top, format!("₹{}+", num(band.min_lpa)))
        }
    };
    let label_color = if highlighted { ACCENT } else { TEXT };
    let room = (slot - 8).max(10) as u32;
    c.text(
        &label,
        (centre, top - 8),
        (22.0, true, label_color),
        Anchor::CenterBottom,
        room,
    )?;
    let level = c.wrap(&band.level, 20.0, highlighted, room, 2)?;
    let mut y = BOTTOM + 12;
    for line in &level {
        c.text(
            line,
            (centre, y),
            (20.0, highlighted, label_color),
            Anchor::CenterTop,
            room,
        )?;
        y += 25;
    }
    if let Some(years) = band.years_label() {
        c.text(
            &years,
            (centre, y + 4),
            (18.0, false, MUTED),
            Anchor::CenterTop,
            room,
        )?;
    }
    Ok(())
}

/// 10 as "10", 12.5 as "12.5".
fn num(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{}", x as i64)
    } else {
        format!("{x:.1}")
    }
}
