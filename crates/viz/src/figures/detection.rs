//! Localization and detection figures: canvases with their true and predicted boxes
//! (the masks of segmentation are drawn by [`segmentation`](super::segmentation)).
//!
//! Canvases are drawn as the book draws Fashion-MNIST (dark items on white, matplotlib's
//! `binary`), enlarged by a whole factor so that a 64 × 64 canvas is 192 pixels wide.
//! True boxes are solid green ([`TRUE_BOX`]), predicted boxes dashed red
//! ([`PREDICTED_BOX`]), each with its class name (Korean, as `CLASS_NAMES_KO`) and, for
//! predictions, the score.

use cnnkit_data::canvas::CanvasSet;
use cnnkit_data::CLASS_NAMES_KO;
use cnnkit_nn::detection::{BoundingBox, Detection, GroundTruth};
use ndarray::{ArrayView2, ArrayView3, AsArray, Axis, Ix3};

use super::grid::{INK, LINE};
use crate::error::{Error, Result};
use crate::plot::images::grid_shape;
use crate::plot::{
    colorize, text_width, upscale, Canvas, ColorMap, ImageOptions, Paint, Png, Rgb, Svg, TextStyle,
    PALETTE,
};

/// Colour of true boxes: `tab10` green.
///
/// ```
/// assert_eq!(cnnkit_viz::figures::TRUE_BOX.hex(), "#2ca02c");
/// ```
pub const TRUE_BOX: Rgb = PALETTE[2];

/// Colour of predicted boxes (drawn dashed): `tab10` red.
///
/// ```
/// assert_eq!(cnnkit_viz::figures::PREDICTED_BOX.hex(), "#d62728");
/// ```
pub const PREDICTED_BOX: Rgb = PALETTE[3];

/// At most this many canvases in a figure.
const MAX_BOX_CANVASES: usize = 32;
/// A canvas's long side is enlarged to at most this many pixels (whole factor).
const CELL: usize = 192;
const MARGIN: f64 = 10.0;
const GAP: f64 = 12.0;
const LABEL: f64 = 11.0;
const LEGEND_ROW: f64 = 26.0;

/// The whole factor that brings a `h × w` image's long side to about [`CELL`] pixels.
fn zoom(h: usize, w: usize) -> usize {
    (CELL / h.max(w).max(1)).max(1)
}

/// The Korean name of `class`, or `클래스 N` outside `0..=9`.
fn short_name(class: usize) -> String {
    CLASS_NAMES_KO
        .get(class)
        .map_or_else(|| format!("클래스 {class}"), |s| s.to_string())
}

/// A grey image as the book shows Fashion-MNIST (`binary`, values `0..=1`), enlarged.
fn canvas_png(image: ArrayView2<'_, f32>, k: usize) -> Result<Png> {
    let rgb = colorize(image, &ImageOptions::unit().cmap(ColorMap::Binary));
    let (h, w) = image.dim();
    Png::from_rgb(&upscale(&rgb, (h.max(w) * k) as u32))
}

/// Draws a box and its label on an image drawn at `(x0, y0)` with zoom `k`; the label
/// goes above the box (true boxes) or below it (predictions), inside the image.
#[allow(clippy::too_many_arguments)]
fn draw_box(
    canvas: &mut Canvas,
    (x0, y0): (f64, f64),
    (h, w, k): (usize, usize, usize),
    bbox: &BoundingBox,
    color: Rgb,
    dashed: bool,
    label: &str,
) {
    let k = k as f64;
    let (iw, ih) = (w as f64 * k, h as f64 * k);
    let clamp = |v: f32, hi: f64| (v as f64 * k).clamp(0.0, hi);
    let (bx0, bx1) = (clamp(bbox.x_min, iw), clamp(bbox.x_max, iw));
    let (by0, by1) = (clamp(bbox.y_min, ih), clamp(bbox.y_max, ih));
    let paint = Paint::outline(color, 2.0);
    let paint = if dashed { paint.dashed() } else { paint };
    canvas.rect(
        x0 + bx0,
        y0 + by0,
        (bx1 - bx0).max(0.0),
        (by1 - by0).max(0.0),
        &paint,
    );
    let (lw, lh) = (text_width(label, LABEL) + 6.0, LABEL + 4.0);
    let lx = (x0 + bx0).min(x0 + iw - lw).max(x0);
    let ly = if dashed {
        // Below the bottom edge, or just inside it at the image's bottom.
        if by1 + lh <= ih {
            y0 + by1
        } else {
            y0 + (by1 - lh).max(0.0)
        }
    } else if by0 >= lh {
        y0 + by0 - lh
    } else {
        y0 + by0.min(ih - lh).max(0.0)
    };
    canvas.rect(lx, ly, lw, lh, &Paint::fill(color).opacity(0.85));
    canvas.text(
        lx + 3.0,
        ly + lh / 2.0,
        label,
        &TextStyle::new(LABEL).color(color.text_color()),
    );
}

/// Draws a legend row of filled squares and labels at `(x, y)` (vertical middle).
fn legend_row(canvas: &mut Canvas, x: f64, y: f64, items: &[(Rgb, String)]) -> f64 {
    let mut cx = x;
    for (color, label) in items {
        canvas.rect(cx, y - 7.0, 14.0, 14.0, &Paint::fill(*color));
        canvas.text(cx + 20.0, y, label, &TextStyle::new(12.0).color(INK));
        cx += 20.0 + text_width(label, 12.0) + 18.0;
    }
    cx - x
}

/// Canvases with their true boxes (solid green) and, optionally, predicted boxes (dashed
/// red, with scores), in a grid of `cols` columns, each box labelled with its class.
///
/// Boxes are in the images' pixel coordinates (`x` the column, `y` the row, maxima
/// exclusive for pixel boxes): a localization model's normalized outputs become pixels
/// with `BoundingBox::from_array(b, format).scaled(width, height)`. Keras: the book's
/// `plt.imshow` with `patches.Rectangle` per box.
///
/// # Shapes
/// `images`: `(n, H, W)` values in `0..=1`, `n` from 1 to 32; `truth`: `n` lists (or none:
/// `&[]`); `predicted`: `n` lists.
///
/// # Errors
/// [`Error::Invalid`](cnnkit_nn::Error::Invalid) for no images or too many, empty
/// images, `cols` 0, or box lists for another number of images.
///
/// ```
/// use cnnkit_nn::detection::{Detection, GroundTruth};
/// let images = ndarray::Array3::<f32>::zeros((2, 64, 64));
/// let truth = vec![vec![GroundTruth::new([4.0, 4.0, 30.0, 30.0], 0)], vec![]];
/// let predicted = vec![vec![Detection::new([6.0, 5.0, 31.0, 29.0], 0, 0.87)], vec![]];
/// let fig = cnnkit_viz::figures::detection_boxes(&images, &truth, Some(&predicted), 2)?;
/// let svg = fig.as_str();
/// assert_eq!(svg.matches("<image").count(), 2);
/// assert!(svg.contains(">티셔츠/탑</text>") && svg.contains(">티셔츠/탑 0.87</text>"));
/// assert!(svg.contains("stroke-dasharray")); // the prediction is dashed
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn detection_boxes<'a>(
    images: impl AsArray<'a, f32, Ix3>,
    truth: &[Vec<GroundTruth>],
    predicted: Option<&[Vec<Detection>]>,
    cols: usize,
) -> Result<Svg> {
    let images: ArrayView3<'a, f32> = images.into();
    let (n, h, w) = images.dim();
    if n == 0 || n > MAX_BOX_CANVASES {
        return Err(Error::invalid(
            "images for detection_boxes",
            format!(
                "{n} images; show 1 to {MAX_BOX_CANVASES}, e.g. `set.take(8)` or \
                 `images.slice(s![..8, .., ..])`"
            ),
        ));
    }
    if h == 0 || w == 0 {
        return Err(Error::invalid(
            "images for detection_boxes",
            format!("they are {h}x{w}; each needs at least one pixel"),
        ));
    }
    if !truth.is_empty() && truth.len() != n {
        return Err(Error::invalid(
            "true boxes",
            format!(
                "{} lists for {n} images: give one list per image (empty for an image without \
                 objects), or none (`&[]`)",
                truth.len()
            ),
        ));
    }
    if let Some(p) = predicted
        && p.len() != n
    {
        return Err(Error::invalid(
            "predicted boxes",
            format!(
                "{} lists for {n} images: give one list per image (empty for an image without \
                 detections)",
                p.len()
            ),
        ));
    }
    let (cols, rows) = grid_shape(n, cols)?;
    let k = zoom(h, w);
    let (cw, ch) = ((w * k) as f64, (h * k) as f64);
    let mut legend: Vec<(Rgb, String)> = Vec::new();
    if !truth.is_empty() {
        legend.push((TRUE_BOX, "정답 상자 (true box)".to_string()));
    }
    if predicted.is_some() {
        legend.push((
            PREDICTED_BOX,
            "예측 상자, 점선 (predicted, dashed)".to_string(),
        ));
    }
    let legend_w: f64 = legend.iter().map(|(_, l)| 38.0 + text_width(l, 12.0)).sum();
    let top = MARGIN + if legend.is_empty() { 0.0 } else { LEGEND_ROW };
    let width =
        (2.0 * MARGIN + cols as f64 * cw + (cols - 1) as f64 * GAP).max(2.0 * MARGIN + legend_w);
    let height = top + rows as f64 * ch + (rows - 1) as f64 * GAP + MARGIN;
    let mut canvas = Canvas::new(width, height);
    legend_row(&mut canvas, MARGIN, MARGIN + 8.0, &legend);
    for i in 0..n {
        let (r, c) = (i / cols, i % cols);
        let (x0, y0) = (MARGIN + c as f64 * (cw + GAP), top + r as f64 * (ch + GAP));
        let png = canvas_png(images.index_axis(Axis(0), i), k)?;
        canvas.image(x0, y0, cw, ch, &png);
        canvas.rect(x0, y0, cw, ch, &Paint::outline(LINE, 1.0));
        if let Some(objects) = truth.get(i) {
            for g in objects {
                let label = short_name(g.class);
                draw_box(
                    &mut canvas,
                    (x0, y0),
                    (h, w, k),
                    &g.bbox,
                    TRUE_BOX,
                    false,
                    &label,
                );
            }
        }
        if let Some(found) = predicted.and_then(|p| p.get(i)) {
            for d in found {
                let label = format!("{} {:.2}", short_name(d.class), d.score);
                draw_box(
                    &mut canvas,
                    (x0, y0),
                    (h, w, k),
                    &d.bbox,
                    PREDICTED_BOX,
                    true,
                    &label,
                );
            }
        }
    }
    Ok(canvas.finish())
}

/// [`detection_boxes`] for generated canvases: their images and exact object boxes,
/// with optional predictions for the same canvases.
///
/// # Shapes
/// `set`: 1 to 32 canvases (take a few with `set.take(8)` or `set.select(&[...])`);
/// `predicted`: one list per canvas, in the canvases' pixel coordinates.
///
/// # Errors
/// As [`detection_boxes`].
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
/// let split = cnnkit_data::Split::new(vec![200; 2 * 784], vec![4, 9])?;
/// let set = CanvasSet::from_split(&split, 4, &CanvasConfig::default().size(96, 96).objects(2, 2))?;
/// let fig = cnnkit_viz::figures::canvas_boxes(&set, None, 4)?;
/// // Four canvases of two objects: eight solid green boxes.
/// assert_eq!(fig.as_str().matches("stroke=\"#2ca02c\"").count(), 8);
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn canvas_boxes(
    set: &CanvasSet,
    predicted: Option<&[Vec<Detection>]>,
    cols: usize,
) -> Result<Svg> {
    let images = set.pixels().mapv(|p| p as f32 / 255.0);
    let truth = cnnkit_nn::detection::ground_truths(set);
    detection_boxes(&images, &truth, predicted, cols)
}
