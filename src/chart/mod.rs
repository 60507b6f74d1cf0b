//! Charts: the salary bands and the roadmap drawn as PNG pictures.
//!
//! People would rather look at pay ranges and a multi-year plan than read them, so `/salary`
//! and `/timeline` (and `careerbot salary|timeline --chart FILE`) attach a picture of the
//! same tables their text shows. The pictures are drawn with plotters' bitmap backend and a
//! font compiled into the binary ([`canvas`]), never a system font: a fresh machine or a
//! container has none. They are drawn on an opaque dark card with light text, so they read
//! the same in Discord's dark and light themes, at sizes meant for a phone (an 840 px wide
//! picture shrinks to under half its size on a phone, hence the large type).
//!
//! Drawing is pure: tables in, PNG bytes out. The bot keeps a [`ChartCache`] per served
//! generation, so each distinct picture is drawn once per reload.

mod canvas;
mod roadmap;
mod salary;

use std::sync::{Arc, Mutex};

pub use canvas::ChartError;
pub use roadmap::{parse_months, parse_years};

use crate::knowledge::KnowledgeBase;
use crate::lookup::{self, NotFound};

/// Width of every chart, in pixels.
pub const WIDTH: u32 = 840;

/// An encoded PNG picture.
pub type Png = Arc<[u8]>;

/// The salary bands as a bar chart (₹ LPA range per level, years under each level), with
/// band `highlight` (an index into `kb.salary.bands`) drawn in the accent colour.
pub fn salary_png(kb: &KnowledgeBase, highlight: Option<usize>) -> Result<Vec<u8>, ChartError> {
    salary::draw(&kb.salary, highlight)
}

/// The roadmap phases (durations as bars, named on the left) above the sample career
/// timeline (years on a shared axis), with phase `highlight` (an index into
/// `kb.phases.phases`) drawn in the accent colour.
pub fn timeline_png(kb: &KnowledgeBase, highlight: Option<usize>) -> Result<Vec<u8>, ChartError> {
    roadmap::draw(&kb.phases, &kb.timeline, highlight)
}

/// Which picture: the chart and what it highlights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartKind {
    Salary { band: Option<usize> },
    Timeline { phase: Option<usize> },
}

impl ChartKind {
    /// The salary chart for a request: the band it names (by level or years) highlighted.
    pub fn salary(
        kb: &KnowledgeBase,
        level: Option<&str>,
        years: Option<u32>,
    ) -> Result<ChartKind, NotFound> {
        let band = lookup::chosen_band(kb, level, years)?;
        Ok(ChartKind::Salary {
            band: band.and_then(|b| lookup::band_index(kb, b)),
        })
    }

    /// The timeline chart for a request: the phase it names highlighted.
    pub fn timeline(kb: &KnowledgeBase, phase: Option<&str>) -> Result<ChartKind, NotFound> {
        let phase = match phase.map(str::trim).filter(|p| !p.is_empty()) {
            Some(q) => lookup::phase_index(kb, lookup::phase(kb, q)?),
            None => None,
        };
        Ok(ChartKind::Timeline { phase })
    }

    /// Draws this picture of `kb`, uncached.
    pub fn draw(self, kb: &KnowledgeBase) -> Result<Vec<u8>, ChartError> {
        match self {
            ChartKind::Salary { band } => salary_png(kb, band),
            ChartKind::Timeline { phase } => timeline_png(kb, phase),
        }
    }
}

/// A picture from a [`ChartCache`].
#[derive(Debug, Clone)]
pub struct Drawn {
    pub png: Png,
    /// Drawn by this call rather than taken from the cache.
    pub fresh: bool,
}

/// The pictures one generation of the base has drawn, so each is drawn once per reload. A
/// base has a handful of bands and phases, so the cache is bounded by the base's own size.
#[derive(Debug, Default)]
pub struct ChartCache {
    drawn: Mutex<Vec<(ChartKind, Png)>>,
}

impl ChartCache {
    /// The picture `kind` of `kb`, drawn now or taken from the cache. `kb` must be the
    /// generation this cache belongs to.
    pub fn get(&self, kb: &KnowledgeBase, kind: ChartKind) -> Result<Drawn, ChartError> {
        if let Some(png) = self.lookup(kind) {
            return Ok(Drawn { png, fresh: false });
        }
        // Drawn outside the lock: two first requests may both draw, which is harmless.
        let png: Png = kind.draw(kb)?.into();
        let mut drawn = self.drawn.lock().unwrap_or_else(|e| e.into_inner());
        if !drawn.iter().any(|(k, _)| *k == kind) {
            drawn.push((kind, Arc::clone(&png)));
        }
        Ok(Drawn { png, fresh: true })
    }

    fn lookup(&self, kind: ChartKind) -> Option<Png> {
        let drawn = self.drawn.lock().unwrap_or_else(|e| e.into_inner());
        drawn
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, png)| Arc::clone(png))
    }

    /// How many pictures are cached.
    pub fn len(&self) -> usize {
        self.drawn.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped() -> KnowledgeBase {
        KnowledgeBase::load_dir(&crate::knowledge_dir(None)).expect("shipped base loads")
    }

    /// Width, height and colour type from the PNG header.
    fn header(png: &[u8]) -> (u32, u32) {
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().expect("a PNG");
        let info = reader.info();
        (info.width, info.height)
    }

    #[test]
    fn both_charts_are_pngs_at_least_800_by_400() {
        let kb = shipped();
        for png in [
            salary_png(&kb, None).unwrap(),
            salary_png(&kb, Some(1)).unwrap(),
            timeline_png(&kb, None).unwrap(),
            timeline_png(&kb, Some(4)).unwrap(),
        ] {
            let (w, h) = header(&png);
            assert!(w >= 800 && h >= 400, "{w}x{h}");
        }
    }

    #[test]
    fn the_highlight_changes_the_picture() {
        let kb = shipped();
        assert_ne!(
            salary_png(&kb, None).unwrap(),
            salary_png(&kb, Some(0)).unwrap()
        );
        assert_ne!(
            timeline_png(&kb, None).unwrap(),
            timeline_png(&kb, Some(2)).unwrap()
        );
    }

    #[test]
    fn empty_and_odd_tables_still_draw() {
        let mut kb = KnowledgeBase::default();
        salary_png(&kb, None).unwrap();
        timeline_png(&kb, None).unwrap();
        kb = shipped();
        for p in &mut kb.phases.phases {
            p.duration = "as long as it takes".into();
        }
        for s in &mut kb.timeline.steps {
            s.years = "later".into();
        }
        kb.salary.bands.truncate(1);
        kb.salary.bands[0].max_lpa = None;
        timeline_png(&kb, Some(99)).unwrap();
        salary_png(&kb, Some(99)).unwrap();
    }

    /// A base with very many rows, or figures of any size, still gives a picture a phone can
    /// show: rows beyond the cap are counted, not drawn, so the height stays bounded.
    #[test]
    fn huge_tables_are_capped() {
        let mut kb = shipped();
        let phase = kb.phases.phases[0].clone();
        kb.phases.phases = (0..500)
            .map(|n| crate::knowledge::Phase {
                number: n,
                ..phase.clone()
            })
            .collect();
        let step = kb.timeline.steps[0].clone();
        kb.timeline.steps = vec![step; 500];
        let band = kb.salary.bands[0].clone();
        kb.salary.bands = (0..200)
            .map(|n| crate::knowledge::SalaryBand {
                min_lpa: n as f64 * 50.0,
                max_lpa: Some(n as f64 * 50.0 + 9_999.0),
                ..band.clone()
            })
            .collect();
        let (_, tall) = header(&timeline_png(&kb, Some(3)).unwrap());
        assert!(tall <= 1600, "{tall}");
        let (_, h) = header(&salary_png(&kb, Some(3)).unwrap());
        assert!(h <= 600, "{h}");
        kb.phases.phases[0].duration = "9".repeat(400) + " months";
        timeline_png(&kb, None).unwrap();
    }

    #[test]
    fn the_cache_draws_each_picture_once() {
        let kb = shipped();
        let cache = ChartCache::default();
        let a = cache.get(&kb, ChartKind::Salary { band: None }).unwrap();
        let b = cache.get(&kb, ChartKind::Salary { band: None }).unwrap();
        assert!(a.fresh && !b.fresh);
        assert!(Arc::ptr_eq(&a.png, &b.png));
        cache.get(&kb, ChartKind::Salary { band: Some(0) }).unwrap();
        cache.get(&kb, ChartKind::Timeline { phase: None }).unwrap();
        assert_eq!(cache.len(), 3);
    }
}
