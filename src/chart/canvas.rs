//! The drawing surface the charts share: the embedded font, the palette, text that fits a
//! width, and the PNG encoding.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontDesc, FontFamily, FontStyle, RGBAColor};

/// DejaVu Sans, cut to the characters the charts draw (see `assets/fonts/LICENSE`).
const REGULAR: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-subset.ttf");
const BOLD: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans-Bold-subset.ttf");

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("the embedded chart font did not load")]
    Font,
    #[error("drawing the chart: {0}")]
    Draw(String),
    #[error("encoding the chart as PNG: {0}")]
    Encode(#[from] png::EncodingError),
}

/// The card's colours: an opaque dark card with light text reads the same in Discord's
/// dark and light themes.
pub const BACKGROUND: RGBColor = RGBColor(0x23, 0x26, 0x2e);
pub const TEXT: RGBColor = RGBColor(0xf2, 0xf3, 0xf5);
pub const MUTED: RGBColor = RGBColor(0xb5, 0xba, 0xc1);
pub const GRID: RGBColor = RGBColor(0x3d, 0x42, 0x4f);
/// Bars not singled out.
pub const BAR: RGBColor = RGBColor(0x6b, 0x7c, 0xd6);
/// The band or phase the user asked about.
pub const ACCENT: RGBColor = RGBColor(0xf0, 0xb2, 0x32);

/// Registers the embedded font with plotters once per process.
fn fonts() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, REGULAR).is_ok()
            && plotters::style::register_font("sans-serif", FontStyle::Bold, BOLD).is_ok()
    });
    ok.then_some(()).ok_or(ChartError::Font)
}

/// A font of the embedded family.
pub fn font(size: f64, bold: bool) -> FontDesc<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::SansSerif, size, style)
}

/// How text is drawn: size in pixels, bold, colour.
pub type Ink = (f64, bool, RGBColor);

/// Where a piece of text hangs from its anchor point.
#[derive(Debug, Clone, Copy)]
pub enum Anchor {
    LeftTop,
    LeftMiddle,
    RightMiddle,
    CenterTop,
    CenterBottom,
}

impl Anchor {
    fn pos(self) -> Pos {
        match self {
            Anchor::LeftTop => Pos::new(HPos::Left, VPos::Top),
            Anchor::LeftMiddle => Pos::new(HPos::Left, VPos::Center),
            Anchor::RightMiddle => Pos::new(HPos::Right, VPos::Center),
            Anchor::CenterTop => Pos::new(HPos::Center, VPos::Top),
            Anchor::CenterBottom => Pos::new(HPos::Center, VPos::Bottom),
        }
    }
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

/// One chart being drawn: an RGB pixel buffer behind a plotters drawing area.
pub struct Canvas<'a> {
    area: Area<'a>,
}

fn draw_error(e: impl std::fmt::Display) -> ChartError {
    ChartError::Draw(e.to_string())
}

impl<'a> Canvas<'a> {
    /// A canvas over `pixels` (`width * height * 3` bytes), filled with the background.
    pub fn new(pixels: &'a mut [u8], width: u32, height: u32) -> Result<Canvas<'a>, ChartError> {
        fonts()?;
        let area = BitMapBackend::with_buffer(pixels, (width, height)).into_drawing_area();
        area.fill(&BACKGROUND).map_err(draw_error)?;
        Ok(Canvas { area })
    }

    /// A filled rectangle from `(x0, y0)` to `(x1, y1)`.
    pub fn rect(
        &self,
        (x0, y0): (i32, i32),
        (x1, y1): (i32, i32),
        color: RGBAColor,
    ) -> Result<(), ChartError> {
        self.area
            .draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))
            .map_err(draw_error)
    }

    /// A one-pixel line.
    pub fn line(
        &self,
        from: (i32, i32),
        to: (i32, i32),
        color: RGBColor,
    ) -> Result<(), ChartError> {
        self.area
            .draw(&PathElement::new(vec![from, to], color))
            .map_err(draw_error)
    }

    /// `text` at `at`, cut with an ellipsis to `max_width` pixels.
    pub fn text(
        &self,
        text: &str,
        at: (i32, i32),
        (size, bold, color): Ink,
        anchor: Anchor,
        max_width: u32,
    ) -> Result<(), ChartError> {
        let fitted = self.fit(text, size, bold, max_width)?;
        let style = TextStyle::from(font(size, bold))
            .color(&color)
            .pos(anchor.pos());
        self.area.draw_text(&fitted, &style, at).map_err(draw_error)
    }

    /// A heading at `top`: `title` (or `fallback` when the base leaves it empty) in bold
    /// `size`, and a muted one-line `subtitle` under it.
    pub fn heading(
        &self,
        title: &str,
        fallback: &str,
        subtitle: &str,
        top: i32,
        size: f64,
    ) -> Result<(), ChartError> {
        let title = if title.is_empty() { fallback } else { title };
        let room = super::WIDTH - 80;
        self.text(title, (40, top), (size, true, TEXT), Anchor::LeftTop, room)?;
        let below = top + size as i32 + 14;
        self.text(
            subtitle,
            (40, below),
            (20.0, false, MUTED),
            Anchor::LeftTop,
            room,
        )
    }

    /// The width of `text` in pixels.
    pub fn width(&self, text: &str, size: f64, bold: bool) -> Result<u32, ChartError> {
        if text.is_empty() {
            return Ok(0);
        }
        self.area
            .estimate_text_size(text, &TextStyle::from(font(size, bold)))
            .map(|(w, _)| w)
            .map_err(draw_error)
    }

    /// `text`, or its longest prefix that fits `max_width` with an ellipsis.
    pub fn fit(
        &self,
        text: &str,
        size: f64,
        bold: bool,
        max_width: u32,
    ) -> Result<String, ChartError> {
        if self.width(text, size, bold)? <= max_width {
            return Ok(text.to_string());
        }
        let chars: Vec<char> = text.chars().collect();
        // Binary search on the prefix length: the widths grow with it.
        let (mut lo, mut hi) = (0, chars.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let candidate: String = chars[..mid].iter().collect::<String>() + "…";
            if self.width(&candidate, size, bold)? <= max_width {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let prefix: String = chars[..lo].iter().collect();
        Ok(format!("{}…", prefix.trim_end()))
    }

    /// `text` in at most `lines` lines of `max_width` pixels, broken at spaces; the last
    /// line is cut with an ellipsis when the text does not fit.
    pub fn wrap(
        &self,
        text: &str,
        size: f64,
        bold: bool,
        max_width: u32,
        lines: usize,
    ) -> Result<Vec<String>, ChartError> {
        let mut out: Vec<String> = Vec::new();
        let mut current = String::new();
        let mut words = text.split_whitespace().peekable();
        while let Some(word) = words.next() {
            let candidate = if current.is_empty() {
                word.to_string()
            } else {
                format!("{current} {word}")
            };
            if current.is_empty() || self.width(&candidate, size, bold)? <= max_width {
                current = candidate;
                continue;
            }
            out.push(std::mem::take(&mut current));
            if out.len() + 1 == lines {
                // The last line takes everything left, cut to fit.
                let rest: Vec<&str> = std::iter::once(word).chain(words.by_ref()).collect();
                current = rest.join(" ");
                break;
            }
            current = word.to_string();
        }
        if !current.is_empty() {
            out.push(current);
        }
        out.iter()
            .map(|line| self.fit(line, size, bold, max_width))
            .collect()
    }

    /// Flushes the drawing into the pixel buffer.
    pub fn finish(self) -> Result<(), ChartError> {
        self.area.present().map_err(draw_error)
    }
}

/// Encodes RGB `pixels` as a PNG (fast compression: the charts are flat colour, which
/// compresses well even so).
pub fn encode(pixels: &[u8], width: u32, height: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::with_capacity(64 * 1024);
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::Fast);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(pixels)?;
    writer.finish()?;
    Ok(out)
}

/// Draws a `width` x `height` chart with `paint` and encodes it.
pub fn render(
    width: u32,
    height: u32,
    paint: impl FnOnce(&Canvas<'_>) -> Result<(), ChartError>,
) -> Result<Vec<u8>, ChartError> {
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let canvas = Canvas::new(&mut pixels, width, height)?;
        paint(&canvas)?;
        canvas.finish()?;
    }
    encode(&pixels, width, height)
}
