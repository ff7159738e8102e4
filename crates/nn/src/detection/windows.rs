//! Detection with a window classifier turned into a fully convolutional network (the
//! book's "Fully Convolutional Networks" and the idea behind YOLO's grid).
//!
//! 1. A [`WindowGrid`]: windows of `window × window` pixels every `stride` pixels. On a
//!    canvas of `h × w` there are `(h − window) / stride + 1` rows of them (and as many
//!    columns for `w`), exactly the positions where a network whose layers shrink by a
//!    total factor `stride` gives one output cell each.
//! 2. [`window_data`]: training crops of those windows, labelled as below, with the box of
//!    the object relative to the window as the second target: what a classification and
//!    localization model ([`crate::train::fit_localization`]) learns from.
//! 3. The trained classifier converted to an FCN ([`DenseModule::to_conv2d`]) runs on a
//!    whole canvas at once; [`fcn_detections`] turns its grid of class scores and boxes
//!    into [`Detection`]s, which [`super::non_max_suppression`] then thins out.
//! 4. Or, YOLO's way, the same FCN trained from the start on whole canvases:
//!    [`grid_targets`] labels every cell of the grid and [`crate::train::fit_grid`] trains
//!    on the loss over the grid.
//!
//! # Which windows are objects
//!
//! A window is *responsible* for an object when the object's box centre lies within
//! `positive_offset` pixels of the window's centre, in both directions (the YOLO rule "the
//! cell that holds the centre predicts the box", with a tolerance so that the few windows
//! next to the centre are positives too). A window whose centre is more than
//! `negative_offset` pixels away (in either direction) from every object's centre is
//! background. Windows in between are left out of training: they hold most of an object
//! but not its centre, and either answer would teach something false.
//!
//! [`DenseModule::to_conv2d`]: crate::layers::DenseModule::to_conv2d

use cnnkit_data::canvas::CanvasSet;
use dfdx::prelude::*;
use ndarray::{Array3, Array4, ArrayView4, Axis};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use super::{BoundingBox, Detection};
use crate::error::{Error, Result};
use crate::ops::Images;
use crate::train::{Dataset, GridData, LocalizationData};

/// The class index of "no object" in [`window_data`]'s labels: the ten Fashion-MNIST
/// classes are `0..=9`, background is 10 (so a window classifier has 11 outputs).
pub const BACKGROUND: u8 = cnnkit_data::canvas::CLASSES as u8;

/// Windows of `window × window` pixels at every `stride` pixels, starting at the top left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowGrid {
    /// Side of a window in pixels (the classifier's input size, 28 for Fashion-MNIST).
    pub window: usize,
    /// Pixels between two windows (the product of the strides of the classifier's layers).
    pub stride: usize,
}

impl WindowGrid {
    /// A grid of `window`-pixel windows every `stride` pixels.
    ///
    /// # Errors
    /// [`Error::Invalid`] when either is 0.
    pub fn new(window: usize, stride: usize) -> Result<WindowGrid> {
        if window == 0 || stride == 0 {
            return Err(Error::invalid(
                "window grid",
                format!("window {window}, stride {stride}: both must be at least 1"),
            ));
        }
        Ok(WindowGrid { window, stride })
    }

    /// Rows and columns of windows on an `height × width` canvas.
    ///
    /// ```
    /// use cnnkit_nn::detection::windows::WindowGrid;
    /// let grid = WindowGrid::new(28, 4)?;
    /// assert_eq!(grid.cells(64, 64)?, (10, 10)); // (64 - 28) / 4 + 1
    /// assert!(grid.cells(20, 64).is_err());
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] when the canvas is smaller than a window.
    pub fn cells(&self, height: usize, width: usize) -> Result<(usize, usize)> {
        if height < self.window || width < self.window {
            return Err(Error::invalid(
                "window grid",
                format!(
                    "a {height} x {width} canvas holds no {0} x {0} window: use a larger \
                     canvas or a smaller window",
                    self.window
                ),
            ));
        }
        Ok((
            (height - self.window) / self.stride + 1,
            (width - self.window) / self.stride + 1,
        ))
    }

    /// The pixel box of the window in grid row `row` and column `col`.
    ///
    /// ```
    /// use cnnkit_nn::detection::windows::WindowGrid;
    /// let b = WindowGrid::new(28, 4)?.window_box(1, 2);
    /// assert_eq!(b.to_array(cnnkit_data::canvas::BoxFormat::Corners), [8.0, 4.0, 36.0, 32.0]);
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    pub fn window_box(&self, row: usize, col: usize) -> BoundingBox {
        let (x, y) = ((col * self.stride) as f32, (row * self.stride) as f32);
        let side = self.window as f32;
        BoundingBox::new(x, y, x + side, y + side)
    }
}

/// How [`window_data`] labels and samples windows (see the module's rule).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WindowSampling {
    /// A window is an object's when the object's centre is at most this many pixels from
    /// the window's centre in both directions (default 4).
    pub positive_offset: f32,
    /// A window is background when every object's centre is more than this many pixels
    /// away in some direction (default 8).
    pub negative_offset: f32,
    /// Background windows drawn per canvas (default 16; fewer when a canvas has fewer).
    pub background_per_canvas: usize,
    /// Seed of the background draw (default 42).
    pub seed: u64,
    /// The class weight of a background cell in [`grid_targets`] (default 0.25; object
    /// cells have 1). A canvas has several times more background cells than object cells,
    /// and at full weight a detector learns to call every cell background; YOLO lowers
    /// its empty cells' loss the same way (`λ_noobj = 0.5`).
    pub background_weight: f32,
}

impl Default for WindowSampling {
    fn default() -> Self {
        WindowSampling {
            positive_offset: 4.0,
            negative_offset: 8.0,
            background_per_canvas: 16,
            seed: 42,
            background_weight: 0.25,
        }
    }
}

/// The largest of the horizontal and vertical distances between two boxes' centres.
fn centre_offset(a: &BoundingBox, b: &BoundingBox) -> f32 {
    let ((ax, ay), (bx, by)) = (a.center(), b.center());
    (ax - bx).abs().max((ay - by).abs())
}

/// What a window holds, by the module's rule.
enum CellLabel {
    /// The window is responsible for an object: its class and its box in the window.
    Object { class: u8, bbox: [f32; 4] },
    /// No object's centre is near.
    Background,
    /// Neither: left out of training.
    Ignored,
}

/// Every window of every canvas with its label, canvas by canvas, row by row.
fn labelled_cells(
    set: &CanvasSet,
    grid: &WindowGrid,
    sampling: &WindowSampling,
) -> Result<Vec<Vec<(usize, usize, CellLabel)>>> {
    let (rows, cols) = grid.cells(set.height(), set.width())?;
    let (pos, neg) = (sampling.positive_offset, sampling.negative_offset);
    if !(pos >= 0.0 && pos <= neg) {
        return Err(Error::invalid(
            "window sampling",
            format!(
                "positive_offset {pos}, negative_offset {neg}: use 0 <= positive_offset <= \
                 negative_offset (the defaults are 4 and 8)"
            ),
        ));
    }
    let side = grid.window as f32;
    let mut out = Vec::with_capacity(set.len());
    for objects in set.objects() {
        let boxes: Vec<BoundingBox> = objects.iter().map(|o| o.bbox.into()).collect();
        let mut cells = Vec::with_capacity(rows * cols);
        for r in 0..rows {
            for c in 0..cols {
                let win = grid.window_box(r, c);
                let nearest = boxes
                    .iter()
                    .enumerate()
                    .map(|(k, b)| (k, centre_offset(&win, b)))
                    .min_by(|a, b| a.1.total_cmp(&b.1));
                let label = match nearest {
                    Some((k, d)) if d <= pos => {
                        let b = &boxes[k];
                        let rel = |v: f32, origin: f32| ((v - origin) / side).clamp(0.0, 1.0);
                        CellLabel::Object {
                            class: objects[k].class,
                            bbox: [
                                rel(b.x_min, win.x_min),
                                rel(b.y_min, win.y_min),
                                rel(b.x_max, win.x_min),
                                rel(b.y_max, win.y_min),
                            ],
                        }
                    }
                    Some((_, d)) if d <= neg => CellLabel::Ignored,
                    _ => CellLabel::Background,
                };
                cells.push((r, c, label));
            }
        }
        out.push(cells);
    }
    Ok(out)
}

/// Training windows of a canvas set: every window responsible for an object (label: its
/// class; box: the object's box in the window's coordinates divided by the window's side,
/// clipped to `0..1`) and `background_per_canvas` background windows drawn at random
/// (label [`BACKGROUND`], box weight 0: there is no box to learn). The windows of one
/// canvas follow each other; shuffle in training (`fit_localization` does).
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
/// use cnnkit_nn::detection::windows::{window_data, WindowGrid, WindowSampling, BACKGROUND};
/// // One white 28 x 28 item of class 3 on a 40 x 40 canvas.
/// let split = cnnkit_data::Split::new(vec![255; 784], vec![3])?;
/// let set = CanvasSet::from_split(&split, 1, &CanvasConfig::default().size(40, 40))?;
/// let data = window_data(&set, &WindowGrid::new(28, 4)?, &WindowSampling::default())?;
/// assert!(data.data.labels.contains(&3));
/// let weights = data.box_weights.as_ref().unwrap();
/// for (label, w) in data.data.labels.iter().zip(weights) {
///     assert_eq!(*w, if *label == BACKGROUND { 0.0 } else { 1.0 });
/// }
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] when the canvases are smaller than a window, the offsets are not
/// `0 <= positive_offset <= negative_offset`, or no window at all was selected.
pub fn window_data(
    set: &CanvasSet,
    grid: &WindowGrid,
    sampling: &WindowSampling,
) -> Result<LocalizationData<1>> {
    let mut rng = StdRng::seed_from_u64(sampling.seed);
    // (canvas, row, col, label, box)
    let mut chosen: Vec<(usize, usize, usize, u8, [f32; 4])> = Vec::new();
    for (i, cells) in labelled_cells(set, grid, sampling)?.into_iter().enumerate() {
        let mut background = Vec::new();
        for (r, c, label) in cells {
            match label {
                CellLabel::Object { class, bbox } => chosen.push((i, r, c, class, bbox)),
                CellLabel::Background => background.push((r, c)),
                CellLabel::Ignored => {}
            }
        }
        background.shuffle(&mut rng);
        for &(r, c) in background.iter().take(sampling.background_per_canvas) {
            chosen.push((i, r, c, BACKGROUND, [0.0; 4]));
        }
    }
    if chosen.is_empty() {
        return Err(Error::invalid(
            "window data",
            "no window was selected: give canvases with objects, or a larger \
             background_per_canvas",
        ));
    }
    let w = grid.window;
    let pixels = set.pixels();
    let mut images = Array4::<f32>::zeros((chosen.len(), w, w, 1));
    for (n, &(i, r, c, _, _)) in chosen.iter().enumerate() {
        let (y, x) = (r * grid.stride, c * grid.stride);
        let crop = pixels.slice(ndarray::s![i, y..y + w, x..x + w]);
        images
            .slice_mut(ndarray::s![n, .., .., 0])
            .assign(&crop.mapv(|p| p as f32 / 255.0));
    }
    let labels = chosen.iter().map(|t| t.3).collect();
    let boxes = chosen.iter().map(|t| t.4).collect();
    let weights = chosen
        .iter()
        .map(|t| if t.3 == BACKGROUND { 0.0 } else { 1.0 })
        .collect();
    LocalizationData::new(Dataset::new(images, labels)?, boxes)?.with_box_weights(weights)
}

/// The targets of every grid cell of every canvas, for training a grid detector on whole
/// canvases ([`crate::train::fit_grid`], YOLO's way) with the labels of [`window_data`]:
/// a responsible cell gets its object's class and box (weights 1 and 1), a background
/// cell [`BACKGROUND`] (weights `sampling.background_weight` and 0), a cell in between
/// weight 0 for both.
/// `sampling.background_per_canvas` and `seed` are not used: every cell is in.
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
/// use cnnkit_nn::detection::windows::{grid_targets, WindowGrid, WindowSampling, BACKGROUND};
/// let split = cnnkit_data::Split::new(vec![255; 784], vec![3])?;
/// let set = CanvasSet::from_split(&split, 2, &CanvasConfig::default().size(40, 40))?;
/// let targets = grid_targets(&set, &WindowGrid::new(28, 4)?, &WindowSampling::default())?;
/// assert_eq!(targets.grid(), (4, 4));
/// assert!(targets.classes.iter().any(|&c| c == 3));
/// // A box only where the class is an object's; background cells weigh 0.25.
/// for ((c, w), cw) in targets.classes.iter().zip(&targets.box_weights).zip(&targets.class_weights) {
///     assert_eq!(*w > 0.0, *c == 3);
///     assert!(*cw == if *c == 3 { 1.0 } else { 0.0 } || (*c == BACKGROUND && *cw == 0.25));
/// }
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
///
/// # Errors
/// As [`window_data`].
pub fn grid_targets(
    set: &CanvasSet,
    grid: &WindowGrid,
    sampling: &WindowSampling,
) -> Result<GridData<1>> {
    let (rows, cols) = grid.cells(set.height(), set.width())?;
    let bw = sampling.background_weight;
    if !(bw.is_finite() && bw >= 0.0) {
        return Err(Error::invalid(
            "window sampling",
            format!("background_weight {bw}: use a finite weight of at least 0 (default 0.25)"),
        ));
    }
    let n = set.len();
    let mut classes = Array3::<u8>::from_elem((n, rows, cols), BACKGROUND);
    let mut class_weights = Array3::<f32>::zeros((n, rows, cols));
    let mut boxes = Array4::<f32>::zeros((n, rows, cols, 4));
    let mut box_weights = Array3::<f32>::zeros((n, rows, cols));
    for (i, cells) in labelled_cells(set, grid, sampling)?.into_iter().enumerate() {
        for (r, c, label) in cells {
            match label {
                CellLabel::Object { class, bbox } => {
                    classes[[i, r, c]] = class;
                    class_weights[[i, r, c]] = 1.0;
                    boxes
                        .slice_mut(ndarray::s![i, r, c, ..])
                        .assign(&ndarray::arr1(&bbox));
                    box_weights[[i, r, c]] = 1.0;
                }
                CellLabel::Background => class_weights[[i, r, c]] = sampling.background_weight,
                CellLabel::Ignored => {}
            }
        }
    }
    GridData::new(
        Dataset::unlabeled(set.images())?,
        classes,
        class_weights,
        boxes,
        box_weights,
    )
}

/// The two outputs of a window classifier turned into an FCN, run on whole canvases:
/// class logits `(n, rows, cols, K)` and boxes `(n, rows, cols, 4)`.
pub type FcnOutput<const K: usize> = (
    Tensor<(usize, usize, usize, Const<K>), f32, Cpu>,
    Tensor<(usize, usize, usize, Const<4>), f32, Cpu>,
);

/// The grid outputs of an FCN as arrays, `(logits, boxes)`, run over `images` in batches.
///
/// # Errors
/// A shape error naming the layer.
pub fn fcn_outputs<M, const C: usize, const K: usize>(
    model: &M,
    images: &Dataset<C>,
) -> Result<(Array4<f32>, Array4<f32>)>
where
    M: Module<Images<C>, Output = FcnOutput<K>, Error = CpuError>,
{
    let dev = Cpu::default();
    let all: Vec<usize> = (0..images.len()).collect();
    let (mut logits, mut boxes) = (Vec::new(), Vec::new());
    for idx in all.chunks(crate::train::PREDICT_BATCH) {
        let (l, b) = model.try_forward(images.batch(&dev, idx)?)?;
        let to_array = |v: Vec<f32>, (n, h, w): (usize, usize, usize), k: usize| {
            Array4::from_shape_vec((n, h, w, k), v)
                .map_err(|e| Error::invalid("FCN output", e.to_string()))
        };
        let (n, h, w) = (l.shape().0, l.shape().1, l.shape().2);
        logits.push(to_array(l.as_vec(), (n, h, w), K)?);
        let (n, h, w) = (b.shape().0, b.shape().1, b.shape().2);
        boxes.push(to_array(b.as_vec(), (n, h, w), 4)?);
    }
    let cat = |parts: Vec<Array4<f32>>| {
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        ndarray::concatenate(Axis(0), &views)
            .map_err(|e| Error::invalid("FCN output", e.to_string()))
    };
    Ok((cat(logits)?, cat(boxes)?))
}

/// One [`Detection`] per grid cell whose most probable class is not `background` and has a
/// probability of at least `min_score`: that class, that probability (softmax of the
/// cell's logits) and the cell's box moved from window to canvas pixels.
///
/// ```
/// use cnnkit_nn::detection::windows::{grid_detections, WindowGrid};
/// // A 1 x 2 grid of 3 classes (background = 2): cell 0 says class 0, cell 1 background.
/// let logits = ndarray::Array4::from_shape_vec((1, 1, 2, 3), vec![4.0, 0.0, 0.0, 0.0, 0.0, 4.0]).unwrap();
/// let boxes = ndarray::Array4::from_elem((1, 1, 2, 4), 0.5);
/// let boxes = { let mut b = boxes; b.slice_mut(ndarray::s![0, 0, 0, 2..]).fill(1.0); b };
/// let found = grid_detections(logits.view(), boxes.view(), &WindowGrid::new(10, 5)?, 2, 0.5)?;
/// assert_eq!(found[0].len(), 1);
/// assert_eq!(found[0][0].class, 0);
/// assert_eq!(found[0][0].bbox.to_array(cnnkit_data::canvas::BoxFormat::Corners), [5.0, 5.0, 10.0, 10.0]);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
///
/// # Errors
/// [`Error::Invalid`] when the two grids differ in shape, `background` is not a class, or
/// `min_score` is not in `0..=1`.
pub fn grid_detections(
    logits: ArrayView4<'_, f32>,
    boxes: ArrayView4<'_, f32>,
    grid: &WindowGrid,
    background: usize,
    min_score: f32,
) -> Result<Vec<Vec<Detection>>> {
    let (n, rows, cols, k) = logits.dim();
    if boxes.dim() != (n, rows, cols, 4) {
        return Err(Error::invalid(
            "FCN grids",
            format!(
                "logits {:?} and boxes {:?}: the box grid must be (n, rows, cols, 4) with the \
                 logits' n, rows and cols",
                logits.dim(),
                boxes.dim()
            ),
        ));
    }
    if background >= k || !(0.0..=1.0).contains(&min_score) {
        return Err(Error::invalid(
            "grid detections",
            format!(
                "background class {background} of {k} classes, min_score {min_score}: the \
                 background is one of the classes and min_score is in 0..=1"
            ),
        ));
    }
    let side = grid.window as f32;
    let mut out = vec![Vec::new(); n];
    for (i, found) in out.iter_mut().enumerate() {
        for r in 0..rows {
            for c in 0..cols {
                let z = logits.slice(ndarray::s![i, r, c, ..]);
                let top = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let total: f32 = z.iter().map(|v| (v - top).exp()).sum();
                let (best, &zb) = z
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.total_cmp(b.1))
                    .expect("at least one class");
                let p = (zb - top).exp() / total;
                if best == background || p < min_score {
                    continue;
                }
                let win = grid.window_box(r, c);
                let b = boxes.slice(ndarray::s![i, r, c, ..]);
                let bbox = BoundingBox::new(
                    win.x_min + b[0] * side,
                    win.y_min + b[1] * side,
                    win.x_min + b[2] * side,
                    win.y_min + b[3] * side,
                );
                found.push(Detection::new(bbox, best, p));
            }
        }
    }
    Ok(out)
}

/// [`fcn_outputs`] then [`grid_detections`]: every cell's detection, before NMS.
///
/// # Errors
/// As the two.
pub fn fcn_detections<M, const C: usize, const K: usize>(
    model: &M,
    images: &Dataset<C>,
    grid: &WindowGrid,
    background: usize,
    min_score: f32,
) -> Result<Vec<Vec<Detection>>>
where
    M: Module<Images<C>, Output = FcnOutput<K>, Error = CpuError>,
{
    let (logits, boxes) = fcn_outputs(model, images)?;
    grid_detections(logits.view(), boxes.view(), grid, background, min_score)
}
