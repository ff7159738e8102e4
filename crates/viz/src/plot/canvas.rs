//! A small SVG writer for diagrams: rectangles, lines, arrows, text and embedded PNGs.
//!
//! The book's figures (grids, receptive fields, pooling windows) are boxes, lines and
//! numbers; writing them as SVG elements directly keeps the drawing code short and exact.
//! Charts with axes use plotters instead (see [`charts`](super::charts)).
//!
//! Coordinates are pixels from the top-left corner, `y` pointing down, as in SVG.
//!
//! ```
//! use cnnkit_viz::plot::{Canvas, Paint, Rgb, TextStyle};
//! let mut c = Canvas::new(120.0, 60.0);
//! c.rect(10.0, 10.0, 40.0, 40.0, &Paint::fill(Rgb(200, 220, 255)).stroke(Rgb::BLACK, 1.0));
//! c.text(30.0, 30.0, "7", &TextStyle::new(14.0).middle());
//! c.arrow(55.0, 30.0, 100.0, 30.0, Rgb::BLACK, 1.5);
//! let svg = c.finish();
//! assert!(svg.as_str().contains(">7</text>"));
//! ```

use std::fmt::Write as _;

use super::output::{Png, Svg};
use super::style::{Rgb, FONT_FAMILY};

/// Escapes `&`, `<`, `>`, `"` and `'` for SVG/HTML text and attribute values.
///
/// ```
/// assert_eq!(cnnkit_viz::plot::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// True for characters drawn twice as wide as a Latin letter: Hangul, CJK and the
/// full-width forms (U+FF00–U+FF60).
pub(crate) fn is_wide(c: char) -> bool {
    matches!(
        c,
        '\u{1100}'..='\u{11FF}'
            | '\u{2E80}'..='\u{A4CF}'
            | '\u{AC00}'..='\u{D7AF}'
            | '\u{F900}'..='\u{FAFF}'
            | '\u{FF00}'..='\u{FF60}'
    )
}

/// A rough width in pixels of `text` at font size `size`, for layout.
///
/// SVG cannot measure text, so layouts use this estimate: Hangul and other wide characters
/// (and the half-width forms U+FF61–U+FFEF) count one em, digits and capitals
/// about 0.62 em, lower-case letters 0.52 em.
///
/// ```
/// use cnnkit_viz::plot::text_width;
/// assert!(text_width("가나다", 10.0) > text_width("abc", 10.0));
/// assert_eq!(text_width("", 12.0), 0.0);
/// ```
pub fn text_width(text: &str, size: f64) -> f64 {
    let em: f64 = text
        .chars()
        .map(|c| match c {
            ' ' => 0.3,
            'i' | 'l' | 'j' | '.' | ',' | ':' | ';' | '\'' | '|' | '!' => 0.28,
            'f' | 't' | 'r' | '(' | ')' | '[' | ']' | '/' | '-' => 0.38,
            'm' | 'w' | 'M' | 'W' => 0.85,
            '0'..='9' | 'A'..='Z' | '×' | '=' | '+' | '_' => 0.62,
            c if c.is_ascii() => 0.52,
            // Hangul, CJK, full-width and half-width forms: one em.
            c if is_wide(c) || ('\u{FF61}'..='\u{FFEF}').contains(&c) => 1.0,
            _ => 0.6,
        })
        .sum();
    em * size
}

/// Formats a number for a cell: integers without decimals, others with up to `decimals`
/// decimals and trailing zeros removed; `-0` becomes `0`.
///
/// ```
/// use cnnkit_viz::plot::fmt_num;
/// assert_eq!(fmt_num(3.0, 2), "3");
/// assert_eq!(fmt_num(2.0 / 3.0, 2), "0.67");
/// assert_eq!(fmt_num(-0.001, 2), "0");
/// assert_eq!(fmt_num(2.5, 2), "2.5");
/// ```
pub fn fmt_num(x: f64, decimals: usize) -> String {
    if x.is_nan() {
        return "NaN".into();
    }
    let s = format!("{:.*}", decimals, x);
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

pub use cnnkit_nn::model::fmt_thousands;

/// How a shape is filled and outlined.
///
/// ```
/// use cnnkit_viz::plot::{Paint, Rgb};
/// let p = Paint::fill(Rgb::WHITE).stroke(Rgb::BLACK, 2.0).opacity(0.5).dashed();
/// assert_eq!(p.stroke_width, 2.0);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Paint {
    /// Fill colour, or none.
    pub fill: Option<Rgb>,
    /// Fill opacity in 0..=1.
    pub fill_opacity: f64,
    /// Outline colour, or none.
    pub stroke: Option<Rgb>,
    /// Outline width in pixels.
    pub stroke_width: f64,
    /// Dashed outline.
    pub dashed: bool,
}

impl Paint {
    /// Filled, no outline.
    ///
    /// ```
    /// assert!(cnnkit_viz::plot::Paint::fill(cnnkit_viz::plot::Rgb::WHITE).stroke.is_none());
    /// ```
    pub fn fill(color: Rgb) -> Paint {
        Paint {
            fill: Some(color),
            fill_opacity: 1.0,
            stroke: None,
            stroke_width: 1.0,
            dashed: false,
        }
    }

    /// Outline only.
    ///
    /// ```
    /// assert!(cnnkit_viz::plot::Paint::outline(cnnkit_viz::plot::Rgb::BLACK, 1.0).fill.is_none());
    /// ```
    pub fn outline(color: Rgb, width: f64) -> Paint {
        Paint {
            fill: None,
            fill_opacity: 1.0,
            stroke: Some(color),
            stroke_width: width,
            dashed: false,
        }
    }

    /// Adds an outline.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Paint, Rgb};
    /// assert_eq!(Paint::fill(Rgb::WHITE).stroke(Rgb::BLACK, 3.0).stroke, Some(Rgb::BLACK));
    /// ```
    pub fn stroke(self, color: Rgb, width: f64) -> Paint {
        Paint {
            stroke: Some(color),
            stroke_width: width,
            ..self
        }
    }

    /// Sets the fill opacity (0 transparent, 1 opaque).
    ///
    /// ```
    /// use cnnkit_viz::plot::{Paint, Rgb};
    /// assert_eq!(Paint::fill(Rgb::WHITE).opacity(0.3).fill_opacity, 0.3);
    /// ```
    pub fn opacity(self, opacity: f64) -> Paint {
        Paint {
            fill_opacity: opacity.clamp(0.0, 1.0),
            ..self
        }
    }

    /// Makes the outline dashed.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Paint, Rgb};
    /// assert!(Paint::outline(Rgb::BLACK, 1.0).dashed().dashed);
    /// ```
    pub fn dashed(self) -> Paint {
        Paint {
            dashed: true,
            ..self
        }
    }

    fn attrs(&self) -> String {
        let mut a = String::new();
        match self.fill {
            Some(c) => {
                let _ = write!(a, " fill=\"{}\"", c.hex());
                if self.fill_opacity < 1.0 {
                    let _ = write!(a, " fill-opacity=\"{}\"", num(self.fill_opacity));
                }
            }
            None => a.push_str(" fill=\"none\""),
        }
        if let Some(c) = self.stroke {
            let _ = write!(
                a,
                " stroke=\"{}\" stroke-width=\"{}\"",
                c.hex(),
                num(self.stroke_width)
            );
            if self.dashed {
                let d = (self.stroke_width * 3.0).max(3.0);
                let _ = write!(a, " stroke-dasharray=\"{} {}\"", num(d), num(d * 0.7));
            }
        }
        a
    }
}

/// Horizontal alignment of text relative to its `x`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Text starts at `x`.
    Start,
    /// Text is centred on `x`.
    Middle,
    /// Text ends at `x`.
    End,
}

/// Font size, colour, alignment and rotation of a text element.
///
/// ```
/// use cnnkit_viz::plot::{Anchor, TextStyle};
/// let t = TextStyle::new(12.0).middle().bold().rotate(-45.0);
/// assert_eq!(t.anchor, Anchor::Middle);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TextStyle {
    /// Font size in pixels.
    pub size: f64,
    /// Text colour.
    pub color: Rgb,
    /// Horizontal alignment.
    pub anchor: Anchor,
    /// Bold face.
    pub bold: bool,
    /// Rotation in degrees around the anchor point (negative = counter-clockwise).
    pub rotate: f64,
}

impl TextStyle {
    /// Black, left-aligned text of `size` pixels.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::TextStyle::new(10.0).size, 10.0);
    /// ```
    pub fn new(size: f64) -> TextStyle {
        TextStyle {
            size,
            color: Rgb(30, 30, 30),
            anchor: Anchor::Start,
            bold: false,
            rotate: 0.0,
        }
    }

    /// Centred on `x`.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Anchor, TextStyle};
    /// assert_eq!(TextStyle::new(9.0).middle().anchor, Anchor::Middle);
    /// ```
    pub fn middle(self) -> TextStyle {
        TextStyle {
            anchor: Anchor::Middle,
            ..self
        }
    }

    /// Ending at `x` (right-aligned).
    ///
    /// ```
    /// use cnnkit_viz::plot::{Anchor, TextStyle};
    /// assert_eq!(TextStyle::new(9.0).end().anchor, Anchor::End);
    /// ```
    pub fn end(self) -> TextStyle {
        TextStyle {
            anchor: Anchor::End,
            ..self
        }
    }

    /// Bold.
    ///
    /// ```
    /// assert!(cnnkit_viz::plot::TextStyle::new(9.0).bold().bold);
    /// ```
    pub fn bold(self) -> TextStyle {
        TextStyle { bold: true, ..self }
    }

    /// Another colour.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Rgb, TextStyle};
    /// assert_eq!(TextStyle::new(9.0).color(Rgb::WHITE).color, Rgb::WHITE);
    /// ```
    pub fn color(self, color: Rgb) -> TextStyle {
        TextStyle { color, ..self }
    }

    /// Rotated by `degrees` around the anchor point.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::TextStyle::new(9.0).rotate(-90.0).rotate, -90.0);
    /// ```
    pub fn rotate(self, degrees: f64) -> TextStyle {
        TextStyle {
            rotate: degrees,
            ..self
        }
    }
}

/// Formats a coordinate compactly (at most 2 decimals).
fn num(x: f64) -> String {
    fmt_num(x, 2)
}

/// An SVG drawing in progress. Call [`finish`](Canvas::finish) to get the [`Svg`].
#[derive(Clone, Debug)]
pub struct Canvas {
    width: f64,
    height: f64,
    body: String,
}

impl Canvas {
    /// An empty white canvas of `width` × `height` pixels.
    ///
    /// ```
    /// let svg = cnnkit_viz::plot::Canvas::new(10.0, 20.0).finish();
    /// assert_eq!((svg.width(), svg.height()), (10, 20));
    /// ```
    pub fn new(width: f64, height: f64) -> Canvas {
        let mut c = Canvas {
            width,
            height,
            body: String::new(),
        };
        c.rect(0.0, 0.0, width, height, &Paint::fill(Rgb::WHITE));
        c
    }

    /// Canvas width in pixels.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::Canvas::new(10.0, 20.0).width(), 10.0);
    /// ```
    pub fn width(&self) -> f64 {
        self.width
    }

    /// Canvas height in pixels.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::Canvas::new(10.0, 20.0).height(), 20.0);
    /// ```
    pub fn height(&self) -> f64 {
        self.height
    }

    /// A rectangle with top-left corner `(x, y)`.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Paint, Rgb};
    /// let mut c = Canvas::new(10.0, 10.0);
    /// c.rect(1.0, 2.0, 3.0, 4.0, &Paint::fill(Rgb(255, 0, 0)));
    /// assert!(c.finish().as_str().contains(r##"<rect x="1" y="2" width="3" height="4" fill="#ff0000"/>"##));
    /// ```
    pub fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, paint: &Paint) {
        let _ = writeln!(
            self.body,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"{}/>",
            num(x),
            num(y),
            num(w),
            num(h),
            paint.attrs()
        );
    }

    /// A straight line.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Paint, Rgb};
    /// let mut c = Canvas::new(10.0, 10.0);
    /// c.line(0.0, 0.0, 10.0, 10.0, &Paint::outline(Rgb::BLACK, 1.0));
    /// assert!(c.finish().as_str().contains("<line"));
    /// ```
    pub fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, paint: &Paint) {
        let paint = Paint {
            fill: None,
            ..*paint
        };
        let _ = writeln!(
            self.body,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"{}/>",
            num(x1),
            num(y1),
            num(x2),
            num(y2),
            paint.attrs()
        );
    }

    /// A closed polygon through `points`.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Paint, Rgb};
    /// let mut c = Canvas::new(10.0, 10.0);
    /// c.polygon(&[(0.0, 0.0), (5.0, 0.0), (0.0, 5.0)], &Paint::fill(Rgb::BLACK));
    /// assert!(c.finish().as_str().contains("points=\"0,0 5,0 0,5\""));
    /// ```
    pub fn polygon(&mut self, points: &[(f64, f64)], paint: &Paint) {
        let pts: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let _ = writeln!(
            self.body,
            "<polygon points=\"{}\"{}/>",
            pts.join(" "),
            paint.attrs()
        );
    }

    /// A circle.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Paint, Rgb};
    /// let mut c = Canvas::new(10.0, 10.0);
    /// c.circle(5.0, 5.0, 2.0, &Paint::fill(Rgb::BLACK));
    /// assert!(c.finish().as_str().contains("<circle cx=\"5\""));
    /// ```
    pub fn circle(&mut self, cx: f64, cy: f64, r: f64, paint: &Paint) {
        let _ = writeln!(
            self.body,
            "<circle cx=\"{}\" cy=\"{}\" r=\"{}\"{}/>",
            num(cx),
            num(cy),
            num(r),
            paint.attrs()
        );
    }

    /// An arrow from `(x1, y1)` to `(x2, y2)` with a filled head at the end.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Rgb};
    /// let mut c = Canvas::new(50.0, 10.0);
    /// c.arrow(0.0, 5.0, 50.0, 5.0, Rgb::BLACK, 1.0);
    /// let svg = c.finish();
    /// assert!(svg.as_str().contains("<line") && svg.as_str().contains("<polygon"));
    /// ```
    pub fn arrow(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, color: Rgb, width: f64) {
        let (dx, dy) = (x2 - x1, y2 - y1);
        let len = (dx * dx + dy * dy).sqrt();
        if len < 1e-9 {
            return;
        }
        let (ux, uy) = (dx / len, dy / len);
        let head = (4.0 + 3.0 * width).min(len * 0.5);
        let (bx, by) = (x2 - ux * head, y2 - uy * head);
        self.line(x1, y1, bx, by, &Paint::outline(color, width));
        let half = head * 0.45;
        self.polygon(
            &[
                (x2, y2),
                (bx - uy * half, by + ux * half),
                (bx + uy * half, by - ux * half),
            ],
            &Paint::fill(color),
        );
    }

    /// Text whose vertical *middle* is at `y` (so a number centred in a cell uses the cell
    /// centre for both `x` and `y`). The text is escaped.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, TextStyle};
    /// let mut c = Canvas::new(100.0, 20.0);
    /// c.text(50.0, 10.0, "입력 <28×28>", &TextStyle::new(12.0).middle());
    /// assert!(c.finish().as_str().contains("입력 &lt;28×28&gt;"));
    /// ```
    pub fn text(&mut self, x: f64, y: f64, text: &str, style: &TextStyle) {
        let anchor = match style.anchor {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        };
        let _ = write!(
            self.body,
            "<text x=\"{}\" y=\"{}\" dy=\"0.35em\" font-size=\"{}\" text-anchor=\"{}\" fill=\"{}\"",
            num(x),
            num(y),
            num(style.size),
            anchor,
            style.color.hex()
        );
        if style.bold {
            self.body.push_str(" font-weight=\"bold\"");
        }
        if style.rotate != 0.0 {
            let _ = write!(
                self.body,
                " transform=\"rotate({} {} {})\"",
                num(style.rotate),
                num(x),
                num(y)
            );
        }
        let _ = writeln!(self.body, ">{}</text>", escape(text));
    }

    /// A PNG image scaled to the box `(x, y, w, h)`, drawn with sharp (nearest-neighbour)
    /// pixels so that small images stay crisp.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Png};
    /// let png = Png::from_gray(&image::GrayImage::new(2, 2))?;
    /// let mut c = Canvas::new(40.0, 40.0);
    /// c.image(0.0, 0.0, 40.0, 40.0, &png);
    /// assert!(c.finish().as_str().contains("data:image/png;base64,"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn image(&mut self, x: f64, y: f64, w: f64, h: f64, png: &Png) {
        self.image_transformed(x, y, w, h, png, "");
    }

    /// Like [`image`](Canvas::image) with an SVG `transform` (e.g. `"skewY(-20)"`) applied
    /// around the image's top-left corner: used to draw feature maps as a 3-D stack.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Png};
    /// let png = Png::from_gray(&image::GrayImage::new(2, 2))?;
    /// let mut c = Canvas::new(40.0, 40.0);
    /// c.image_transformed(5.0, 5.0, 20.0, 20.0, &png, "skewY(-20)");
    /// assert!(c.finish().as_str().contains("translate(5 5) skewY(-20)"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn image_transformed(
        &mut self,
        x: f64,
        y: f64,
        w: f64,
        h: f64,
        png: &Png,
        transform: &str,
    ) {
        let (pos, tr) = if transform.is_empty() {
            (format!("x=\"{}\" y=\"{}\"", num(x), num(y)), String::new())
        } else {
            (
                "x=\"0\" y=\"0\"".to_string(),
                format!(
                    " transform=\"translate({} {}) {}\"",
                    num(x),
                    num(y),
                    escape(transform)
                ),
            )
        };
        let _ = writeln!(
            self.body,
            "<image {pos} width=\"{}\" height=\"{}\"{tr} preserveAspectRatio=\"none\" \
             image-rendering=\"pixelated\" style=\"image-rendering:pixelated\" \
             xlink:href=\"{}\"/>",
            num(w),
            num(h),
            png.data_uri()
        );
    }

    /// Starts a group with an SVG `transform`; close it with [`end_group`](Canvas::end_group).
    ///
    /// ```
    /// use cnnkit_viz::plot::{Canvas, Paint, Rgb};
    /// let mut c = Canvas::new(40.0, 40.0);
    /// c.begin_group("translate(10 0)");
    /// c.rect(0.0, 0.0, 5.0, 5.0, &Paint::fill(Rgb::BLACK));
    /// c.end_group();
    /// assert!(c.finish().as_str().contains("</g>"));
    /// ```
    pub fn begin_group(&mut self, transform: &str) {
        let _ = writeln!(self.body, "<g transform=\"{}\">", escape(transform));
    }

    /// Closes the group opened by [`begin_group`](Canvas::begin_group).
    ///
    /// ```
    /// let mut c = cnnkit_viz::plot::Canvas::new(4.0, 4.0);
    /// c.begin_group("scale(2)");
    /// c.end_group();
    /// ```
    pub fn end_group(&mut self) {
        self.body.push_str("</g>\n");
    }

    /// The finished SVG document.
    ///
    /// ```
    /// let svg = cnnkit_viz::plot::Canvas::new(4.0, 4.0).finish();
    /// assert!(svg.as_str().starts_with("<svg") && svg.as_str().trim_end().ends_with("</svg>"));
    /// ```
    pub fn finish(self) -> Svg {
        let (w, h) = (self.width.ceil().max(1.0), self.height.ceil().max(1.0));
        let text = format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" \
             width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" font-family=\"{}\">\n{}</svg>\n",
            escape(FONT_FAMILY),
            self.body
        );
        Svg::from_parts(text, w as u32, h as u32)
    }
}
