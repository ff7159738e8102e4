//! The displayable results: [`Svg`], [`Png`] and [`Html`].
//!
//! Each implements [`RichOutput`] (so a value at the end of a notebook cell is drawn), has
//! `save` (so every figure shown can also be written to a file) and accessors for tests.
//!
//! A cell shows only one rich output, so helpers *return* these values instead of printing.

use std::fmt;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, IntoDrawingArea};
use plotters::prelude::SVGBackend;

use crate::error::{Error, Result};

/// A value that a notebook cell shows as rich output when it is the cell's last
/// expression: figures, tables, training histories, homework verdicts.
///
/// evcxr calls `evcxr_display()` on a cell's last value when the method exists, so this
/// trait must be in scope (it is in `cnnkit::prelude`). Implementors give their forms
/// ([`mime_bundle`](RichOutput::mime_bundle)); the trait prints them in evcxr's stdout
/// protocol: `EVCXR_BEGIN_CONTENT <mime>`, the content, `EVCXR_END_CONTENT`, one block per
/// form, of which the notebook shows the richest it supports.
///
/// ```
/// use cnnkit_viz::plot::{Html, RichOutput};
/// let out = Html::new("<p>a</p>", "a").evcxr_content();
/// assert_eq!(out, "EVCXR_BEGIN_CONTENT text/html\n<p>a</p>\nEVCXR_END_CONTENT\n\
///                  EVCXR_BEGIN_CONTENT text/plain\na\nEVCXR_END_CONTENT\n");
/// ```
pub trait RichOutput {
    /// The forms of the value as `(MIME type, content)`, richest first; the last is
    /// usually `text/plain`.
    fn mime_bundle(&self) -> Vec<(&'static str, String)>;

    /// Exactly what [`evcxr_display`](RichOutput::evcxr_display) prints.
    fn evcxr_content(&self) -> String {
        let mut out = String::new();
        for (mime, content) in self.mime_bundle() {
            out.push_str("EVCXR_BEGIN_CONTENT ");
            out.push_str(mime);
            out.push('\n');
            out.push_str(&content);
            out.push_str("\nEVCXR_END_CONTENT\n");
        }
        out
    }

    /// Shows the value in a notebook: prints [`evcxr_content`](RichOutput::evcxr_content)
    /// in one write, with stdout locked, as evcxr's documentation advises.
    fn evcxr_display(&self) {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        // A failed write to stdout cannot be reported from `evcxr_display`; ignore it.
        let _ = lock.write_all(self.evcxr_content().as_bytes());
        let _ = lock.flush();
    }
}

/// Writes `bytes` to `path`, creating parent folders. A path without extension gets `ext`;
/// a different extension is an error (an SVG written as `.png` would not open).
fn write_with_extension(path: &Path, ext: &str, kind: &str, bytes: &[u8]) -> Result<PathBuf> {
    let path = match path.extension() {
        None => path.with_extension(ext),
        Some(e) if e.eq_ignore_ascii_case(ext) => path.to_path_buf(),
        Some(e) => {
            return Err(Error::invalid(
                "file name",
                format!(
                    "{kind} figures are saved as .{ext}, but `{}` ends in .{}: use a name ending in .{ext}",
                    path.display(),
                    e.to_string_lossy()
                ),
            ))
        }
    };
    if let Some(parent) = path.parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(|e| Error::io("create folder", parent, e))?;
    }
    std::fs::write(&path, bytes).map_err(|e| Error::io("write", &path, e))?;
    Ok(path)
}

/// The value of the attribute `name="..."` inside the first `<svg ...>` tag.
fn svg_attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let rest = &tag[start..];
    let end = rest.find('"')?;
    Some(&rest[..end])
}

/// Reads the number in `name="123"` (or `name="123.5"`, `name="123px"`) inside the tag.
fn svg_size_attr(tag: &str, name: &str) -> Option<f64> {
    svg_attr(tag, name)?.trim_end_matches("px").parse().ok()
}

// ------------------------------------------------------------------------------------------
// Svg
// ------------------------------------------------------------------------------------------

/// An SVG figure: charts, diagrams, image grids with titles.
///
/// Text stays text (`<text>` elements), so Korean labels are drawn by the browser with its
/// own fonts. In a notebook it is shown as inline HTML, like plotters' `evcxr_figure`.
///
/// ```
/// use cnnkit_viz::plot::{RichOutput, Svg};
/// let fig = Svg::new(r#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"></svg>"#)?;
/// assert_eq!((fig.width(), fig.height()), (20, 10));
/// assert!(fig.evcxr_content().starts_with("EVCXR_BEGIN_CONTENT text/html\n"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Svg {
    text: String,
    width: u32,
    height: u32,
}

impl Svg {
    /// Wraps SVG markup. The root `<svg>` element must carry `width` and `height`
    /// attributes (or a `viewBox`).
    ///
    /// ```
    /// assert!(cnnkit_viz::plot::Svg::new("<p>not svg</p>").is_err());
    /// ```
    pub fn new(text: impl Into<String>) -> Result<Svg> {
        let text = text.into();
        let start = text
            .find("<svg")
            .ok_or_else(|| Error::Plot("the text holds no <svg> element".into()))?;
        let tag_end = text[start..]
            .find('>')
            .map(|i| start + i)
            .ok_or_else(|| Error::Plot("the <svg> tag is not closed".into()))?;
        let tag = &text[start..tag_end];
        let from_view_box = || -> Option<(f64, f64)> {
            let v: Vec<f64> = svg_attr(tag, "viewBox")?
                .split([' ', ','])
                .filter(|p| !p.is_empty())
                .filter_map(|p| p.parse().ok())
                .collect();
            (v.len() == 4).then(|| (v[2], v[3]))
        };
        let (w, h) = match (svg_size_attr(tag, "width"), svg_size_attr(tag, "height")) {
            (Some(w), Some(h)) => (w, h),
            _ => from_view_box().ok_or_else(|| {
                Error::Plot("the <svg> element has neither width/height nor a viewBox".into())
            })?,
        };
        Ok(Svg {
            width: w.round().max(0.0) as u32,
            height: h.round().max(0.0) as u32,
            text,
        })
    }

    /// For markup written by this crate, whose size is known.
    pub(crate) fn from_parts(text: String, width: u32, height: u32) -> Svg {
        Svg {
            text,
            width,
            height,
        }
    }

    /// Draws with plotters on an SVG canvas of `size` pixels and returns the figure.
    ///
    /// The closure has the same form as plotters' `evcxr_figure`, but a drawing failure
    /// becomes an [`Error::Plot`] instead of a panic.
    ///
    /// ```
    /// use cnnkit_viz::plot::{Svg, plotters::prelude::*};
    /// let fig = Svg::draw((200, 100), |root| {
    ///     root.fill(&WHITE)?;
    ///     root.draw(&Circle::new((100, 50), 20, RED.filled()))?;
    ///     Ok(())
    /// })?;
    /// assert!(fig.as_str().contains("<circle"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn draw<F>(size: (u32, u32), draw: F) -> Result<Svg>
    where
        F: FnOnce(
            DrawingArea<SVGBackend<'_>, Shift>,
        ) -> std::result::Result<(), Box<dyn std::error::Error>>,
    {
        let mut buffer = String::new();
        {
            let root = SVGBackend::with_string(&mut buffer, size).into_drawing_area();
            draw(root).map_err(|e| Error::Plot(e.to_string()))?;
            // Dropping the backend writes the closing </svg>.
        }
        Ok(Svg::from_parts(buffer, size.0, size.1))
    }

    /// [`Svg::draw`] on a canvas `scale` times `size`, shown at `size`: the root's `width`
    /// and `height` become `size` while its `viewBox` keeps the drawing's own coordinates
    /// (plotters rounds coordinates to whole pixels; drawn larger, sloped lines look smooth).
    pub(crate) fn draw_scaled<F>(size: (u32, u32), scale: u32, draw: F) -> Result<Svg>
    where
        F: FnOnce(
            DrawingArea<SVGBackend<'_>, Shift>,
        ) -> std::result::Result<(), Box<dyn std::error::Error>>,
    {
        let big = (size.0 * scale, size.1 * scale);
        let text = Svg::draw(big, draw)?.into_string().replacen(
            &format!("width=\"{}\" height=\"{}\"", big.0, big.1),
            &format!("width=\"{}\" height=\"{}\"", size.0, size.1),
            1,
        );
        Svg::new(text)
    }

    /// The SVG markup.
    ///
    /// ```
    /// let fig = cnnkit_viz::plot::function(|x| x * x, -1.0..1.0, "x²").unwrap();
    /// assert!(fig.as_str().starts_with("<svg"));
    /// ```
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The SVG markup, consuming the figure.
    ///
    /// ```
    /// let s = cnnkit_viz::plot::function(|x| x, 0.0..1.0, "").unwrap().into_string();
    /// assert!(s.ends_with("</svg>\n") || s.ends_with("</svg>"));
    /// ```
    pub fn into_string(self) -> String {
        self.text
    }

    /// Width in pixels.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::function(|x| x, 0.0..1.0, "").unwrap().width(), 640);
    /// ```
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::function(|x| x, 0.0..1.0, "").unwrap().height(), 400);
    /// ```
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The figure as an HTML fragment (what the notebook receives).
    ///
    /// ```
    /// let fig = cnnkit_viz::plot::function(|x| x, 0.0..1.0, "").unwrap();
    /// assert!(fig.to_html().starts_with("<div"));
    /// ```
    pub fn to_html(&self) -> String {
        format!(
            "<div style=\"max-width:100%;overflow-x:auto\">{}</div>",
            self.text
        )
    }

    /// Writes the figure as an `.svg` file, creating folders; returns the path written.
    /// A path without extension gets `.svg`; another extension is an error.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("cnnkit_doc_svg_save");
    /// let fig = cnnkit_viz::plot::function(|x| x, 0.0..1.0, "").unwrap();
    /// let path = fig.save(dir.join("figs/identity"))?;
    /// assert!(path.ends_with("figs/identity.svg") && path.exists());
    /// assert!(fig.save(dir.join("x.png")).is_err());
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        write_with_extension(path.as_ref(), "svg", "SVG", self.text.as_bytes())
    }
}

impl RichOutput for Svg {
    /// The inline SVG as HTML, and a short `text/plain` alternative.
    ///
    /// ```
    /// use cnnkit_viz::plot::RichOutput;
    /// let fig = cnnkit_viz::plot::function(|x| x, 0.0..1.0, "").unwrap();
    /// let out = fig.evcxr_content();
    /// assert!(out.contains("EVCXR_BEGIN_CONTENT text/html\n<div"));
    /// assert!(out.trim_end().ends_with("EVCXR_END_CONTENT"));
    /// ```
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        vec![
            ("text/html", self.to_html()),
            (
                "text/plain",
                format!("<SVG figure {}×{}>", self.width, self.height),
            ),
        ]
    }
}

impl fmt::Debug for Svg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Svg {{ width: {}, height: {}, bytes: {} }}",
            self.width,
            self.height,
            self.text.len()
        )
    }
}

impl fmt::Display for Svg {
    /// Writes the SVG markup.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

// ------------------------------------------------------------------------------------------
// Png
// ------------------------------------------------------------------------------------------

/// A PNG image (encoded bytes): for pictures, where every pixel matters.
///
/// ```
/// use cnnkit_viz::plot::Png;
/// let png = Png::from_gray(&image::GrayImage::new(3, 2))?;
/// assert_eq!((png.width(), png.height()), (3, 2));
/// assert_eq!(&png.bytes()[1..4], b"PNG");
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Png {
    bytes: Vec<u8>,
    width: u32,
    height: u32,
}

impl Png {
    /// Wraps encoded PNG bytes (e.g. read from a file), checking the header.
    ///
    /// ```
    /// assert!(cnnkit_viz::plot::Png::from_bytes(b"not a png".to_vec()).is_err());
    /// ```
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Png> {
        let reader =
            image::ImageReader::with_format(std::io::Cursor::new(&bytes), image::ImageFormat::Png);
        let (width, height) = reader
            .into_dimensions()
            .map_err(|source| Error::image("PNG bytes", source))?;
        Ok(Png {
            bytes,
            width,
            height,
        })
    }

    fn encode(
        name: &str,
        data: &[u8],
        width: u32,
        height: u32,
        color: image::ExtendedColorType,
    ) -> Result<Png> {
        use image::ImageEncoder as _;
        let mut bytes = Vec::new();
        image::codecs::png::PngEncoder::new(&mut bytes)
            .write_image(data, width, height, color)
            .map_err(|source| Error::image(name, source))?;
        Ok(Png {
            bytes,
            width,
            height,
        })
    }

    /// Encodes an 8-bit RGB image.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_rgb(&image::RgbImage::new(4, 4))?;
    /// assert_eq!(png.width(), 4);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn from_rgb(img: &image::RgbImage) -> Result<Png> {
        Png::encode(
            "RGB image",
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::Rgb8,
        )
    }

    /// Encodes an 8-bit grey-scale image.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(5, 1))?;
    /// assert_eq!(png.height(), 1);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn from_gray(img: &image::GrayImage) -> Result<Png> {
        Png::encode(
            "grey image",
            img.as_raw(),
            img.width(),
            img.height(),
            image::ExtendedColorType::L8,
        )
    }

    /// Decodes the PNG back into an RGB image (to inspect pixels).
    ///
    /// ```
    /// let img = image::RgbImage::from_pixel(2, 2, image::Rgb([10, 20, 30]));
    /// let back = cnnkit_viz::plot::Png::from_rgb(&img)?.to_rgb_image()?;
    /// assert_eq!(back, img);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn to_rgb_image(&self) -> Result<image::RgbImage> {
        image::load_from_memory_with_format(&self.bytes, image::ImageFormat::Png)
            .map(|img| img.to_rgb8())
            .map_err(|source| Error::image("PNG bytes", source))
    }

    /// The encoded PNG bytes.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(1, 1))?;
    /// assert_eq!(&png.bytes()[..8], b"\x89PNG\r\n\x1a\n");
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The encoded PNG bytes, consuming the image.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(1, 1))?;
    /// assert!(!png.into_bytes().is_empty());
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// Width in pixels.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(7, 1))?;
    /// assert_eq!(png.width(), 7);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(1, 7))?;
    /// assert_eq!(png.height(), 7);
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn height(&self) -> u32 {
        self.height
    }

    /// The bytes in standard base64 (what Jupyter expects for `image/png`).
    ///
    /// ```
    /// use base64::Engine as _;
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(1, 1))?;
    /// let decoded = base64::engine::general_purpose::STANDARD.decode(png.to_base64()).unwrap();
    /// assert_eq!(decoded, png.bytes());
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn to_base64(&self) -> String {
        base64::engine::general_purpose::STANDARD.encode(&self.bytes)
    }

    /// A `data:image/png;base64,...` URI, for `<img src>` or SVG `<image href>`.
    ///
    /// ```
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(1, 1))?;
    /// assert!(png.data_uri().starts_with("data:image/png;base64,iVBOR"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    pub fn data_uri(&self) -> String {
        format!("data:image/png;base64,{}", self.to_base64())
    }

    /// Writes the image as a `.png` file, creating folders; returns the path written.
    /// A path without extension gets `.png`; another extension is an error.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("cnnkit_doc_png_save");
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(2, 2))?;
    /// let path = png.save(dir.join("pixels"))?;
    /// assert_eq!(std::fs::read(path)?, png.bytes());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        write_with_extension(path.as_ref(), "png", "PNG", &self.bytes)
    }
}

impl RichOutput for Png {
    /// An `image/png` block (base64) and a `text/plain` alternative.
    ///
    /// ```
    /// use cnnkit_viz::plot::RichOutput;
    /// let png = cnnkit_viz::plot::Png::from_gray(&image::GrayImage::new(1, 1))?;
    /// assert!(png.evcxr_content().starts_with("EVCXR_BEGIN_CONTENT image/png\niVBOR"));
    /// # Ok::<(), cnnkit_viz::Error>(())
    /// ```
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        vec![
            ("image/png", self.to_base64()),
            (
                "text/plain",
                format!("<PNG image {}×{}>", self.width, self.height),
            ),
        ]
    }
}

impl fmt::Debug for Png {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Png {{ width: {}, height: {}, bytes: {} }}",
            self.width,
            self.height,
            self.bytes.len()
        )
    }
}

// ------------------------------------------------------------------------------------------
// Html
// ------------------------------------------------------------------------------------------

/// An HTML fragment with a plain-text alternative: tables such as model summaries.
///
/// ```
/// use cnnkit_viz::plot::RichOutput;
/// let t = cnnkit_viz::plot::Html::new("<b>굵게</b>", "굵게");
/// assert!(t.evcxr_content().contains("text/html\n<b>굵게</b>"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Html {
    html: String,
    text: String,
}

impl Html {
    /// Wraps an HTML fragment and the text shown where HTML cannot be (a terminal).
    ///
    /// ```
    /// let t = cnnkit_viz::plot::Html::new("<i>x</i>", "x");
    /// assert_eq!(t.text(), "x");
    /// ```
    pub fn new(html: impl Into<String>, text: impl Into<String>) -> Html {
        Html {
            html: html.into(),
            text: text.into(),
        }
    }

    /// The HTML fragment.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::Html::new("<p>a</p>", "a").as_str(), "<p>a</p>");
    /// ```
    pub fn as_str(&self) -> &str {
        &self.html
    }

    /// The plain-text alternative.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::Html::new("<p>a</p>", "a").text(), "a");
    /// ```
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Writes a complete UTF-8 HTML page holding the fragment; returns the path written.
    /// A path without extension gets `.html`; another extension is an error.
    ///
    /// ```
    /// let dir = std::env::temp_dir().join("cnnkit_doc_html_save");
    /// let path = cnnkit_viz::plot::Html::new("<p>표</p>", "표").save(dir.join("t"))?;
    /// assert!(std::fs::read_to_string(path)?.contains("charset=\"utf-8\""));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn save(&self, path: impl AsRef<Path>) -> Result<PathBuf> {
        let page = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"></head>\n<body>\n{}\n</body></html>\n",
            self.html
        );
        write_with_extension(path.as_ref(), "html", "HTML", page.as_bytes())
    }
}

impl RichOutput for Html {
    /// The fragment as `text/html`, and its plain-text alternative.
    fn mime_bundle(&self) -> Vec<(&'static str, String)> {
        vec![
            ("text/html", self.html.clone()),
            ("text/plain", self.text.clone()),
        ]
    }
}

impl fmt::Display for Html {
    /// Writes the plain-text alternative.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
