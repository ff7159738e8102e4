//! Images as PNG: single grey-scale or colour images, filters, grids with titles and
//! feature-map mosaics.
//!
//! Small images (a 28 × 28 Fashion-MNIST item, a 7 × 7 filter) are enlarged with
//! nearest-neighbour sampling by a whole factor, so every pixel stays a crisp square.
//! Grids with titles are SVG documents holding base64 PNG `<image>`s and `<text>` titles:
//! the browser draws the (possibly Korean) titles, no font file needed.

use image::{ImageBuffer, Pixel, Rgb as Px, RgbImage};
use ndarray::{ArrayView2, ArrayView3, AsArray, Axis, Ix2, Ix3};

use super::canvas::{text_width, Canvas, TextStyle};
use super::output::{Png, Svg};
use super::style::Rgb;
use crate::error::{Error, Result};

/// Default displayed size, in pixels, of the long side of a single image.
pub const IMAGE_SIZE: u32 = 224;
/// Default size, in pixels, of one cell of an image grid.
pub const GRID_CELL: u32 = 96;

/// How values are turned into colours.
///
/// ```
/// use cnnkit_viz::plot::{ColorMap, Rgb};
/// assert_eq!(ColorMap::Gray.color(0.0), Rgb::BLACK);
/// assert_eq!(ColorMap::Binary.color(0.0), Rgb::WHITE);
/// assert_eq!(ColorMap::Diverging.color(0.5), Rgb::WHITE);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColorMap {
    /// Black (low) to white (high): matplotlib `"gray"`.
    Gray,
    /// White (low) to black (high): matplotlib `"binary"`, the book's Fashion-MNIST look.
    Binary,
    /// Blue (negative) – white (zero) – red (positive): matplotlib `"bwr"`-like, for filter
    /// weights. Use it with [`ValueRange::Symmetric`] so that zero is white.
    Diverging,
    /// matplotlib's perceptually uniform `"viridis"` (dark purple to yellow).
    Viridis,
    /// White to dark blue: matplotlib `"Blues"`, for confusion matrices.
    Blues,
}

/// Interpolates evenly spaced colour stops at `t` in 0..=1.
fn ramp(stops: &[Rgb], t: f32) -> Rgb {
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let i = (t.floor() as usize).min(stops.len() - 2);
    stops[i].mix(stops[i + 1], t - i as f32)
}

impl ColorMap {
    /// The colour of `t` in 0..=1 (values outside are clamped; NaN is magenta so that it
    /// stands out).
    ///
    /// ```
    /// use cnnkit_viz::plot::{ColorMap, Rgb};
    /// assert_eq!(ColorMap::Gray.color(1.0), Rgb::WHITE);
    /// assert_eq!(ColorMap::Gray.color(f32::NAN), Rgb(255, 0, 255));
    /// ```
    pub fn color(self, t: f32) -> Rgb {
        if t.is_nan() {
            return Rgb(255, 0, 255);
        }
        let t = t.clamp(0.0, 1.0);
        match self {
            ColorMap::Gray => Rgb::BLACK.mix(Rgb::WHITE, t),
            ColorMap::Binary => Rgb::WHITE.mix(Rgb::BLACK, t),
            ColorMap::Diverging => ramp(
                &[
                    Rgb(33, 102, 172),
                    Rgb(146, 197, 222),
                    Rgb::WHITE,
                    Rgb(244, 165, 130),
                    Rgb(178, 24, 43),
                ],
                t,
            ),
            ColorMap::Viridis => ramp(
                &[
                    Rgb(68, 1, 84),
                    Rgb(72, 40, 120),
                    Rgb(62, 74, 137),
                    Rgb(49, 104, 142),
                    Rgb(38, 130, 142),
                    Rgb(31, 158, 137),
                    Rgb(53, 183, 121),
                    Rgb(109, 205, 89),
                    Rgb(180, 222, 44),
                    Rgb(253, 231, 37),
                ],
                t,
            ),
            ColorMap::Blues => ramp(
                &[
                    Rgb(247, 251, 255),
                    Rgb(222, 235, 247),
                    Rgb(198, 219, 239),
                    Rgb(158, 202, 225),
                    Rgb(107, 174, 214),
                    Rgb(66, 146, 198),
                    Rgb(33, 113, 181),
                    Rgb(8, 81, 156),
                    Rgb(8, 48, 107),
                ],
                t,
            ),
        }
    }
}

/// Which values map to the two ends of the colour map.
///
/// ```
/// use cnnkit_viz::plot::ValueRange;
/// let v = [-0.5_f32, 0.25, 2.0];
/// assert_eq!(ValueRange::Auto.resolve(v.iter().copied()), (-0.5, 2.0));
/// assert_eq!(ValueRange::Symmetric.resolve(v.iter().copied()), (-2.0, 2.0));
/// assert_eq!(ValueRange::Fixed(0.0, 1.0).resolve(v.iter().copied()), (0.0, 1.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ValueRange {
    /// From the smallest to the largest value of each image (matplotlib's default).
    Auto,
    /// A fixed range, e.g. `Fixed(0.0, 1.0)` for pixel intensities in 0..1.
    Fixed(f32, f32),
    /// `-m..m` with `m` the largest absolute value: zero sits in the middle.
    Symmetric,
}

impl ValueRange {
    /// The `(low, high)` pair for these values; NaN and infinities are ignored, and an
    /// empty or constant image gets a range of width 1 so that nothing divides by zero.
    ///
    /// ```
    /// use cnnkit_viz::plot::ValueRange;
    /// assert_eq!(ValueRange::Auto.resolve([3.0_f32, 3.0].into_iter()), (3.0, 4.0));
    /// ```
    pub fn resolve(self, values: impl Iterator<Item = f32>) -> (f32, f32) {
        let (lo, hi) = match self {
            ValueRange::Fixed(lo, hi) => (lo, hi),
            ValueRange::Auto | ValueRange::Symmetric => {
                let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
                for v in values.filter(|v| v.is_finite()) {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
                if lo > hi {
                    (0.0, 1.0)
                } else if self == ValueRange::Symmetric {
                    let m = lo.abs().max(hi.abs());
                    (-m, m)
                } else {
                    (lo, hi)
                }
            }
        };
        if hi > lo {
            (lo, hi)
        } else {
            (lo, lo + 1.0)
        }
    }
}

/// Colour map, value range and displayed size for grey-scale (one-channel) images.
///
/// ```
/// use cnnkit_viz::plot::{ColorMap, ImageOptions, ValueRange};
/// let o = ImageOptions::default().cmap(ColorMap::Binary).range(ValueRange::Fixed(0.0, 1.0)).size(64);
/// assert_eq!(o.size, Some(64));
/// assert_eq!(ImageOptions::filter().cmap, ColorMap::Diverging);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ImageOptions {
    /// Colour map (default [`ColorMap::Gray`]).
    pub cmap: ColorMap,
    /// Value range (default [`ValueRange::Auto`], per image).
    pub range: ValueRange,
    /// Displayed size in pixels of an image's long side (single images) or of a grid cell;
    /// `None` uses [`IMAGE_SIZE`] or [`GRID_CELL`].
    pub size: Option<u32>,
}

impl Default for ImageOptions {
    fn default() -> Self {
        ImageOptions {
            cmap: ColorMap::Gray,
            range: ValueRange::Auto,
            size: None,
        }
    }
}

impl ImageOptions {
    /// Grey, auto-scaled, default size.
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::ImageOptions::new(), cnnkit_viz::plot::ImageOptions::default());
    /// ```
    pub fn new() -> ImageOptions {
        ImageOptions::default()
    }

    /// For filters (kernels) with negative weights: diverging colours, zero is white.
    ///
    /// ```
    /// use cnnkit_viz::plot::{ImageOptions, ValueRange};
    /// assert_eq!(ImageOptions::filter().range, ValueRange::Symmetric);
    /// ```
    pub fn filter() -> ImageOptions {
        ImageOptions {
            cmap: ColorMap::Diverging,
            range: ValueRange::Symmetric,
            size: None,
        }
    }

    /// For pixel intensities already in 0..1: no rescaling, 0 black and 1 white.
    ///
    /// ```
    /// use cnnkit_viz::plot::{ImageOptions, ValueRange};
    /// assert_eq!(ImageOptions::unit().range, ValueRange::Fixed(0.0, 1.0));
    /// ```
    pub fn unit() -> ImageOptions {
        ImageOptions {
            range: ValueRange::Fixed(0.0, 1.0),
            ..ImageOptions::default()
        }
    }

    /// Another colour map.
    ///
    /// ```
    /// use cnnkit_viz::plot::{ColorMap, ImageOptions};
    /// assert_eq!(ImageOptions::new().cmap(ColorMap::Viridis).cmap, ColorMap::Viridis);
    /// ```
    pub fn cmap(self, cmap: ColorMap) -> ImageOptions {
        ImageOptions { cmap, ..self }
    }

    /// Another value range.
    ///
    /// ```
    /// use cnnkit_viz::plot::{ImageOptions, ValueRange};
    /// assert_eq!(ImageOptions::new().range(ValueRange::Symmetric).range, ValueRange::Symmetric);
    /// ```
    pub fn range(self, range: ValueRange) -> ImageOptions {
        ImageOptions { range, ..self }
    }

    /// Another displayed size in pixels (long side, or grid cell).
    ///
    /// ```
    /// assert_eq!(cnnkit_viz::plot::ImageOptions::new().size(50).size, Some(50));
    /// ```
    pub fn size(self, pixels: u32) -> ImageOptions {
        ImageOptions {
            size: Some(pixels),
            ..self
        }
    }
}

fn check_not_empty(what: &str, h: usize, w: usize) -> Result<()> {
    if h == 0 || w == 0 {
        return Err(Error::invalid(
            what,
            format!("the image is {h}×{w}; it needs at least one pixel"),
        ));
    }
    Ok(())
}

/// Maps a 2-D array (rows = height) to colours at its own size, one pixel per value.
///
/// # Shapes
/// `img`: `(H, W)` → an `RgbImage` of width `W`, height `H`.
///
/// ```
/// use cnnkit_viz::plot::{colorize, ImageOptions};
/// let x = ndarray::array![[0.0_f32, 0.5], [1.0, 2.0]];
/// let img = colorize(&x, &ImageOptions::unit());
/// assert_eq!(img.dimensions(), (2, 2));
/// assert_eq!(img.get_pixel(0, 1).0, [255, 255, 255]); // 1.0 is white
/// assert_eq!(img.get_pixel(1, 1).0, [255, 255, 255]); // 2.0 is clamped to white
/// ```
pub fn colorize<'a>(img: impl AsArray<'a, f32, Ix2>, opts: &ImageOptions) -> RgbImage {
    let img: ArrayView2<'a, f32> = img.into();
    let (h, w) = img.dim();
    let (lo, hi) = opts.range.resolve(img.iter().copied());
    let mut out = RgbImage::new(w as u32, h as u32);
    for ((r, c), &v) in img.indexed_iter() {
        let Rgb(red, green, blue) = opts.cmap.color((v - lo) / (hi - lo));
        out.put_pixel(c as u32, r as u32, Px([red, green, blue]));
    }
    out
}

/// Enlarges `img` by the largest whole factor that keeps its long side at most `size`
/// pixels (at least factor 1), copying each pixel into a square block (nearest neighbour).
///
/// ```
/// let img = image::RgbImage::new(28, 20);
/// let big = cnnkit_viz::plot::upscale(&img, 224);
/// assert_eq!(big.dimensions(), (224, 160)); // factor 8
/// assert_eq!(cnnkit_viz::plot::upscale(&img, 10).dimensions(), (28, 20)); // never shrinks
/// ```
pub fn upscale(img: &RgbImage, size: u32) -> RgbImage {
    let long = img.width().max(img.height()).max(1);
    let k = (size / long).max(1);
    if k == 1 {
        return img.clone();
    }
    image::imageops::resize(
        img,
        img.width() * k,
        img.height() * k,
        image::imageops::FilterType::Nearest,
    )
}

/// Shows a grey-scale image (or any 2-D array: a feature map, a filter), auto-scaled from
/// its minimum (black) to its maximum (white) and enlarged to about 224 pixels.
///
/// Like `plt.imshow(image, cmap="gray")` in the book.
///
/// # Shapes
/// `img`: `(H, W)`.
///
/// ```
/// let x = ndarray::Array2::<f32>::from_shape_fn((28, 28), |(r, c)| (r + c) as f32);
/// let png = cnnkit_viz::plot::show_gray(&x)?;
/// assert_eq!((png.width(), png.height()), (224, 224));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn show_gray<'a>(img: impl AsArray<'a, f32, Ix2>) -> Result<Png> {
    show_gray_with(img, &ImageOptions::default())
}

/// [`show_gray`] with a colour map, value range and size of your choice.
///
/// # Shapes
/// `img`: `(H, W)`.
///
/// ```
/// use cnnkit_viz::plot::{show_gray_with, ColorMap, ImageOptions};
/// let x = ndarray::array![[0.0_f32, 1.0]];
/// let png = show_gray_with(&x, &ImageOptions::unit().cmap(ColorMap::Binary).size(20))?;
/// let img = png.to_rgb_image()?;
/// assert_eq!(img.dimensions(), (20, 10));
/// assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]); // 0 is white in "binary"
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn show_gray_with<'a>(img: impl AsArray<'a, f32, Ix2>, opts: &ImageOptions) -> Result<Png> {
    let img: ArrayView2<'a, f32> = img.into();
    check_not_empty("image for show_gray", img.nrows(), img.ncols())?;
    let rgb = colorize(img, opts);
    Png::from_rgb(&upscale(&rgb, opts.size.unwrap_or(IMAGE_SIZE)))
}

/// Shows a filter (convolution kernel) whose weights may be negative: blue below zero,
/// white at zero, red above, symmetric around zero.
///
/// # Shapes
/// `kernel`: `(kh, kw)`.
///
/// ```
/// // The book's vertical-line filter: a column of ones in a 7 × 7 kernel of zeros.
/// let mut k = ndarray::Array2::<f32>::zeros((7, 7));
/// k.column_mut(3).fill(1.0);
/// k[[0, 0]] = -1.0;
/// let img = cnnkit_viz::plot::show_filter(&k)?.to_rgb_image()?;
/// assert_eq!(img.get_pixel(0, 0).0, [33, 102, 172]);              // -1: blue
/// assert_eq!(img.get_pixel(100, 100).0, [178, 24, 43]);           // +1 (column 3): red
/// assert_eq!(img.get_pixel(200, 100).0, [255, 255, 255]);         //  0: white
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn show_filter<'a>(kernel: impl AsArray<'a, f32, Ix2>) -> Result<Png> {
    show_gray_with(kernel, &ImageOptions::filter())
}

/// Shows an 8-bit colour image, enlarged (nearest neighbour) if its long side is below
/// 224 pixels.
///
/// ```
/// let img = image::RgbImage::from_pixel(32, 16, image::Rgb([200, 30, 30]));
/// let png = cnnkit_viz::plot::show_rgb(&img)?;
/// assert_eq!((png.width(), png.height()), (224, 112));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn show_rgb(img: &RgbImage) -> Result<Png> {
    check_not_empty(
        "image for show_rgb",
        img.height() as usize,
        img.width() as usize,
    )?;
    Png::from_rgb(&upscale(img, IMAGE_SIZE))
}

/// Converts a colour image stored as floats in 0..1 (values outside are clamped) to 8 bits.
///
/// # Shapes
/// `img`: `(H, W, 3)`, channels last as in Keras and in this crate. For a `(3, H, W)`
/// array use `.permuted_axes([1, 2, 0])`.
///
/// ```
/// let x = ndarray::Array3::<f32>::from_elem((2, 3, 3), 0.5);
/// let img = cnnkit_viz::plot::rgb_from_array(&x)?;
/// assert_eq!(img.dimensions(), (3, 2));
/// assert_eq!(img.get_pixel(0, 0).0, [128, 128, 128]);
/// assert!(cnnkit_viz::plot::rgb_from_array(&ndarray::Array3::<f32>::zeros((2, 2, 4))).is_err());
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn rgb_from_array<'a>(img: impl AsArray<'a, f32, Ix3>) -> Result<RgbImage> {
    let img: ArrayView3<'a, f32> = img.into();
    let (h, w, c) = img.dim();
    if c != 3 {
        return Err(Error::invalid(
            "colour image shape",
            format!(
                "expected (height, width, 3) with channels last, got ({h}, {w}, {c}); \
                 for a (3, H, W) array use `.permuted_axes([1, 2, 0])`, for grey images use show_gray"
            ),
        ));
    }
    check_not_empty("colour image", h, w)?;
    let to8 = |v: f32| {
        if v.is_nan() {
            0
        } else {
            (v.clamp(0.0, 1.0) * 255.0).round() as u8
        }
    };
    Ok(RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let (r, c) = (y as usize, x as usize);
        Px([
            to8(img[[r, c, 0]]),
            to8(img[[r, c, 1]]),
            to8(img[[r, c, 2]]),
        ])
    }))
}

/// Shows a colour image stored as floats in 0..1, channels last (see [`rgb_from_array`]).
///
/// # Shapes
/// `img`: `(H, W, 3)`.
///
/// ```
/// let x = ndarray::Array3::<f32>::from_elem((70, 100, 3), 1.0);
/// let png = cnnkit_viz::plot::show_rgb_array(&x)?;
/// assert_eq!((png.width(), png.height()), (200, 140)); // factor 2
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn show_rgb_array<'a>(img: impl AsArray<'a, f32, Ix3>) -> Result<Png> {
    show_rgb(&rgb_from_array(img)?)
}

// ------------------------------------------------------------------------------------------
// Grids
// ------------------------------------------------------------------------------------------

/// Font size of grid titles, in pixels.
const TITLE_SIZE: f64 = 13.0;
/// Distance between lines of a multi-line title.
const TITLE_LINE: f64 = 16.0;
/// Space between grid cells.
const GAP: f64 = 10.0;

/// The `(columns, rows)` of a grid of `n` items in `cols` columns, row by row: never more
/// columns than items. The one layout rule of every grid and mosaic ([`image_grid`],
/// [`image_grid_png`], [`feature_maps`], [`crate::inspect::mosaic`]).
///
/// # Errors
/// [`Error::Invalid`] when `cols` is 0.
pub(crate) fn grid_shape(n: usize, cols: usize) -> Result<(usize, usize)> {
    if cols == 0 {
        return Err(Error::invalid(
            "cols",
            "the number of columns must be at least 1",
        ));
    }
    let cols = cols.min(n.max(1));
    Ok((cols, n.div_ceil(cols)))
}

/// Tiles equally sized images row by row into a grid of `(cols, rows)` (from
/// [`grid_shape`]), `gap` pixels apart and `border` pixels from the edges, on
/// `background`: the pixel mosaic behind [`image_grid_png`] and [`crate::inspect::mosaic`].
///
/// `tiles` must not be empty and all tiles must have the size of the first.
pub(crate) fn tile<P: Pixel>(
    tiles: &[ImageBuffer<P, Vec<P::Subpixel>>],
    (cols, rows): (usize, usize),
    gap: u32,
    border: u32,
    background: P,
) -> ImageBuffer<P, Vec<P::Subpixel>> {
    let (tw, th) = tiles[0].dimensions();
    let (cols, rows) = (cols as u32, rows as u32);
    let mut out = ImageBuffer::from_pixel(
        cols * tw + (cols - 1) * gap + 2 * border,
        rows * th + (rows - 1) * gap + 2 * border,
        background,
    );
    for (i, t) in tiles.iter().enumerate() {
        let (r, c) = (i as u32 / cols, i as u32 % cols);
        image::imageops::replace(
            &mut out,
            t,
            (border + c * (tw + gap)) as i64,
            (border + r * (th + gap)) as i64,
        );
    }
    out
}

/// A PNG prepared for a grid cell: enlarged by a whole factor to fit `cell` if small,
/// shrunk (smoothly) if larger than `2 * cell`. Returns the PNG and its display size.
fn grid_image(img: &RgbImage, cell: u32) -> Result<(Png, f64, f64)> {
    let (w, h) = img.dimensions();
    let long = w.max(h).max(1) as f64;
    let scale = cell as f64 / long;
    let img = if scale >= 1.0 {
        upscale(img, cell)
    } else if long > 2.0 * cell as f64 {
        let k = 2.0 * cell as f64 / long;
        image::imageops::resize(
            img,
            ((w as f64 * k).round() as u32).max(1),
            ((h as f64 * k).round() as u32).max(1),
            image::imageops::FilterType::Triangle,
        )
    } else {
        img.clone()
    };
    let (dw, dh) = if scale >= 1.0 {
        (img.width() as f64, img.height() as f64)
    } else {
        (w as f64 * scale, h as f64 * scale)
    };
    Ok((Png::from_rgb(&img)?, dw, dh))
}

/// Lays out images in `cols` columns with optional titles (lines split at `\n`) under each
/// image. Each column is as wide as its widest title needs.
fn titled_grid<S: AsRef<str>>(
    images: &[RgbImage],
    titles: &[S],
    cols: usize,
    cell: u32,
) -> Result<Svg> {
    for (i, img) in images.iter().enumerate() {
        check_not_empty(
            &format!("image {i} of the grid"),
            img.height() as usize,
            img.width() as usize,
        )?;
    }
    if images.is_empty() {
        return Err(Error::invalid("images", "the list of images is empty"));
    }
    if !titles.is_empty() && titles.len() != images.len() {
        return Err(Error::invalid(
            "titles",
            format!(
                "{} images but {} titles: give one title per image, or none (`&[] as &[&str]`)",
                images.len(),
                titles.len()
            ),
        ));
    }
    let (cols, rows) = grid_shape(images.len(), cols)?;
    let lines: Vec<Vec<&str>> = (0..images.len())
        .map(|i| {
            titles
                .get(i)
                .map(|t| t.as_ref().lines().collect())
                .unwrap_or_default()
        })
        .collect();
    let title_lines = lines.iter().map(Vec::len).max().unwrap_or(0);
    let title_h = if title_lines == 0 {
        0.0
    } else {
        6.0 + TITLE_LINE * title_lines as f64
    };
    // Column widths: the cell, or the widest title in that column.
    let cell_f = cell as f64;
    let col_w: Vec<f64> = (0..cols)
        .map(|c| {
            (c..images.len())
                .step_by(cols)
                .flat_map(|i| lines[i].iter())
                .map(|l| text_width(l, TITLE_SIZE) + 6.0)
                .fold(cell_f, f64::max)
        })
        .collect();
    let row_h = cell_f + title_h;
    let width = col_w.iter().sum::<f64>() + GAP * (cols as f64 + 1.0);
    let height = row_h * rows as f64 + GAP * (rows as f64 + 1.0);
    let mut canvas = Canvas::new(width, height);
    let text = TextStyle::new(TITLE_SIZE).middle();
    for (i, img) in images.iter().enumerate() {
        let (r, c) = (i / cols, i % cols);
        let x0 = GAP + col_w[..c].iter().sum::<f64>() + GAP * c as f64;
        let y0 = GAP + (row_h + GAP) * r as f64;
        let (png, dw, dh) = grid_image(img, cell)?;
        // Centre the image in its cell.
        let x = x0 + (col_w[c] - dw) / 2.0;
        let y = y0 + (cell_f - dh) / 2.0;
        canvas.image(x, y, dw, dh, &png);
        for (j, line) in lines[i].iter().enumerate() {
            let ty = y0 + cell_f + 4.0 + TITLE_LINE * (j as f64 + 0.5);
            canvas.text(x0 + col_w[c] / 2.0, ty, line, &text);
        }
    }
    Ok(canvas.finish())
}

/// Shows grey-scale images in a grid of `cols` columns, each auto-scaled, with a title
/// under each image (one per image, or none). Titles may be Korean and may hold `\n` for
/// a second line (e.g. `"예측: Coat\n정답: Shirt"`).
///
/// Returns one SVG figure (PNG pixels embedded, titles as text), so a cell shows it whole.
///
/// # Shapes
/// Each image `(H, W)`; sizes may differ.
///
/// ```
/// use ndarray::Array2;
/// let imgs: Vec<Array2<f32>> = (0..3).map(|i| Array2::from_elem((28, 28), i as f32)).collect();
/// let views: Vec<_> = imgs.iter().map(|a| a.view()).collect();
/// let fig = cnnkit_viz::plot::image_grid(&views, &["티셔츠/탑", "바지", "풀오버"], 2)?;
/// assert_eq!(fig.as_str().matches("<image").count(), 3);
/// assert!(fig.as_str().contains(">바지</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn image_grid<S: AsRef<str>>(
    images: &[ArrayView2<'_, f32>],
    titles: &[S],
    cols: usize,
) -> Result<Svg> {
    image_grid_with(images, titles, cols, &ImageOptions::default())
}

/// [`image_grid`] with a colour map, value range and cell size of your choice.
///
/// # Shapes
/// Each image `(H, W)`.
///
/// ```
/// use cnnkit_viz::plot::{image_grid_with, ColorMap, ImageOptions};
/// let a = ndarray::Array2::<f32>::eye(5);
/// let fig = image_grid_with(&[a.view(), a.view()], &[] as &[&str], 2,
///                           &ImageOptions::unit().cmap(ColorMap::Binary).size(40))?;
/// assert!(fig.width() < 200);
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn image_grid_with<S: AsRef<str>>(
    images: &[ArrayView2<'_, f32>],
    titles: &[S],
    cols: usize,
    opts: &ImageOptions,
) -> Result<Svg> {
    let rgb: Vec<RgbImage> = images.iter().map(|img| colorize(img, opts)).collect();
    titled_grid(&rgb, titles, cols, opts.size.unwrap_or(GRID_CELL))
}

/// Colour images in a grid with titles (e.g. the sample photos), as in [`image_grid`].
///
/// ```
/// let img = image::RgbImage::from_pixel(40, 30, image::Rgb([0, 128, 255]));
/// let fig = cnnkit_viz::plot::image_grid_rgb(&[img.clone(), img], &["사원", "꽃"], 2)?;
/// assert!(fig.as_str().contains(">꽃</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn image_grid_rgb<S: AsRef<str>>(
    images: &[RgbImage],
    titles: &[S],
    cols: usize,
) -> Result<Svg> {
    titled_grid(images, titles, cols, GRID_CELL.max(160))
}

/// A grid of grey-scale images as a single PNG, without titles: for saving a mosaic as a
/// bitmap. Images are auto-scaled one by one and must all have the same size.
///
/// # Shapes
/// Each image `(H, W)`, all equal.
///
/// ```
/// let a = ndarray::Array2::<f32>::zeros((28, 28));
/// let png = cnnkit_viz::plot::image_grid_png(&[a.view(), a.view(), a.view()], 2)?;
/// // 2 columns × 2 rows of 84-pixel cells (factor 3 for the default 96-pixel cell), 2-pixel gaps.
/// assert_eq!((png.width(), png.height()), (2 * 84 + 3 * 2, 2 * 84 + 3 * 2));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn image_grid_png(images: &[ArrayView2<'_, f32>], cols: usize) -> Result<Png> {
    const PNG_GAP: u32 = 2;
    let first = images
        .first()
        .ok_or_else(|| Error::invalid("images", "the list of images is empty"))?;
    let shape = grid_shape(images.len(), cols)?;
    let (h, w) = first.dim();
    check_not_empty("image 0 of the grid", h, w)?;
    if let Some((i, img)) = images
        .iter()
        .enumerate()
        .find(|(_, img)| img.dim() != (h, w))
    {
        return Err(Error::invalid(
            "image sizes",
            format!(
                "image 0 is {h}×{w} but image {i} is {}×{}: image_grid_png needs equal sizes \
                 (image_grid accepts different sizes)",
                img.nrows(),
                img.ncols()
            ),
        ));
    }
    let tiles: Vec<RgbImage> = images
        .iter()
        .map(|img| upscale(&colorize(img, &ImageOptions::default()), GRID_CELL))
        .collect();
    Png::from_rgb(&tile(&tiles, shape, PNG_GAP, PNG_GAP, Px([255, 255, 255])))
}

/// Shows every channel of a convolution layer's output as a mosaic of grey images, each
/// auto-scaled, titled with its channel number.
///
/// # Shapes
/// `maps`: `(H, W, C)`, channels last as in Keras and in this crate's `(B, H, W, C)`
/// image batches (take one image with `.index_axis(Axis(0), i)`). For a `(C, H, W)` array
/// use `.permuted_axes([1, 2, 0])`.
///
/// ```
/// let maps = ndarray::Array3::<f32>::from_shape_fn((14, 14, 6), |(r, c, k)| (r * k + c) as f32);
/// let fig = cnnkit_viz::plot::feature_maps(&maps, 3)?;
/// assert_eq!(fig.as_str().matches("<image").count(), 6);
/// assert!(fig.as_str().contains(">5</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn feature_maps<'a>(maps: impl AsArray<'a, f32, Ix3>, cols: usize) -> Result<Svg> {
    let maps: ArrayView3<'a, f32> = maps.into();
    let views: Vec<ArrayView2<'_, f32>> = maps.axis_iter(Axis(2)).collect();
    if views.is_empty() {
        return Err(Error::invalid(
            "feature maps",
            format!(
                "shape {:?} has no channels; expected (H, W, C) with C ≥ 1",
                maps.dim()
            ),
        ));
    }
    let titles: Vec<String> = (0..views.len()).map(|k| k.to_string()).collect();
    let opts = ImageOptions::default().size(72);
    image_grid_with(&views, &titles, cols, &opts)
}
