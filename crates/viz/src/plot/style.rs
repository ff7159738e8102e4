//! Figure defaults: one size, one palette, one set of font sizes (d2l's `set_figsize`).
//!
//! evcxr links every dependency into each cell separately, so a global setting changed in
//! one cell would be forgotten in the next. Defaults therefore live in a [`Style`] *value*:
//! keep one in a variable and call the chart methods on it.
//!
//! ```
//! use cnnkit_viz::plot::Style;
//! let style = Style::default().figsize(800, 300);   // wide and flat, for the whole notebook
//! let fig = style.line(&[0.0, 1.0, 2.0], &[0.0, 1.0, 4.0], "y = x²").unwrap();
//! assert_eq!((fig.width(), fig.height()), (800, 300));
//! ```

use plotters::style::RGBColor;

/// An sRGB colour, 8 bits per channel.
///
/// ```
/// use cnnkit_viz::plot::Rgb;
/// assert_eq!(Rgb(31, 119, 180).hex(), "#1f77b4");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rgb(pub u8, pub u8, pub u8);

impl Rgb {
    /// White.
    pub const WHITE: Rgb = Rgb(255, 255, 255);
    /// Black.
    pub const BLACK: Rgb = Rgb(0, 0, 0);

    /// The colour as a CSS/SVG hex string such as `#1f77b4`.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::Rgb::WHITE.hex(), "#ffffff");
    /// ```
    pub fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }

    /// Linear blend: `t = 0` gives `self`, `t = 1` gives `other`.
    ///
    /// ```
    /// use cnnkit_viz::plot::Rgb;
    /// assert_eq!(Rgb::BLACK.mix(Rgb::WHITE, 0.5), Rgb(128, 128, 128));
    /// ```
    pub fn mix(self, other: Rgb, t: f32) -> Rgb {
        let t = t.clamp(0.0, 1.0);
        let f = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * t).round() as u8;
        Rgb(f(self.0, other.0), f(self.1, other.1), f(self.2, other.2))
    }

    /// A lighter version (`amount` 0 = unchanged, 1 = white): for cell backgrounds.
    ///
    /// ```
    /// use cnnkit_viz::plot::Rgb;
    /// assert_eq!(Rgb(0, 0, 0).lighten(1.0), Rgb::WHITE);
    /// ```
    pub fn lighten(self, amount: f32) -> Rgb {
        self.mix(Rgb::WHITE, amount)
    }

    /// Relative luminance in 0..=1 (Rec. 709 weights, no gamma): used to pick black or
    /// white text on a coloured cell.
    ///
    /// ```
    /// use cnnkit_viz::plot::Rgb;
    /// assert!(Rgb::WHITE.luminance() > 0.99 && Rgb::BLACK.luminance() < 0.01);
    /// ```
    pub fn luminance(self) -> f32 {
        (0.2126 * self.0 as f32 + 0.7152 * self.1 as f32 + 0.0722 * self.2 as f32) / 255.0
    }

    /// Black or white, whichever is readable on top of `self`.
    ///
    /// ```
    /// use cnnkit_viz::plot::Rgb;
    /// assert_eq!(Rgb(8, 48, 107).text_color(), Rgb::WHITE);
    /// ```
    pub fn text_color(self) -> Rgb {
        if self.luminance() < 0.5 {
            Rgb::WHITE
        } else {
            Rgb::BLACK
        }
    }

    pub(crate) fn to_plotters(self) -> RGBColor {
        RGBColor(self.0, self.1, self.2)
    }
}

/// The default palette: matplotlib's `tab10`, the colours students know from the book's
/// figures (blue, orange, green, red, purple, brown, pink, grey, olive, cyan).
pub const PALETTE: [Rgb; 10] = [
    Rgb(31, 119, 180),
    Rgb(255, 127, 14),
    Rgb(44, 160, 44),
    Rgb(214, 39, 40),
    Rgb(148, 103, 189),
    Rgb(140, 86, 75),
    Rgb(227, 119, 194),
    Rgb(127, 127, 127),
    Rgb(188, 189, 34),
    Rgb(23, 190, 207),
];

/// Font list for every text element. SVG leaves text to the browser, so Hangul works
/// without shipping a font: the list only prefers common Korean fonts where installed
/// and falls back to the browser's `sans-serif`.
pub const FONT_FAMILY: &str =
    "'Noto Sans KR', 'Nanum Gothic', 'NanumGothic', 'Malgun Gothic', 'Apple SD Gothic Neo', sans-serif";

/// Figure defaults shared by all charts.
///
/// Public fields, so `Style { width: 900, ..Style::default() }` works; the chart functions
/// ([`line_chart`](crate::plot::line_chart), ...) are also methods of `Style`.
///
/// ```
/// use cnnkit_viz::plot::Style;
/// let s = Style::default();
/// assert_eq!((s.width, s.height), (640, 400));
/// assert_eq!(s.color(10), s.color(0)); // the palette cycles
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Style {
    /// Chart width in pixels (SVG user units).
    pub width: u32,
    /// Chart height in pixels.
    pub height: u32,
    /// Font size of titles, in pixels.
    pub title_size: f64,
    /// Font size of axis descriptions and legends, in pixels.
    pub label_size: f64,
    /// Font size of tick labels and numbers in cells, in pixels.
    pub tick_size: f64,
    /// CSS font list, see [`FONT_FAMILY`].
    pub font_family: &'static str,
    /// Colours for series, cycled.
    pub palette: &'static [Rgb],
}

impl Default for Style {
    fn default() -> Self {
        Style::new()
    }
}

impl Style {
    /// The defaults: 640 × 400 pixels, titles 18 px, labels 15 px, ticks 13 px, [`PALETTE`].
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::Style::new(), cnnkit_viz::plot::Style::default());
    /// ```
    pub const fn new() -> Style {
        Style {
            width: 640,
            height: 400,
            title_size: 18.0,
            label_size: 15.0,
            tick_size: 13.0,
            font_family: FONT_FAMILY,
            palette: &PALETTE,
        }
    }

    /// The same style with another figure size in pixels (d2l's `set_figsize`).
    ///
    /// ```
    /// let s = cnnkit_viz::plot::Style::default().figsize(300, 200);
    /// assert_eq!((s.width, s.height), (300, 200));
    /// ```
    pub fn figsize(self, width: u32, height: u32) -> Style {
        Style {
            width,
            height,
            ..self
        }
    }

    /// The `i`-th palette colour, cycling; black if the palette is empty.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Style, PALETTE};
    /// assert_eq!(Style::default().color(1), PALETTE[1]);
    /// ```
    pub fn color(&self, i: usize) -> Rgb {
        if self.palette.is_empty() {
            Rgb::BLACK
        } else {
            self.palette[i % self.palette.len()]
        }
    }
}
