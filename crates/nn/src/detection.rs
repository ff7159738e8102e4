//! Object detection metrics: boxes, intersection over union, non-max suppression and
//! (mean) average precision, each defined exactly below.
//!
//! | item | definition | Keras / TF / COCO equivalent |
//! |---|---|---|
//! | [`BoundingBox`] | `(x_min, y_min, x_max, y_max)`, `x` right and `y` down | the book's boxes (TF writes `y` first) |
//! | [`iou`], [`iou_matrix`], [`iou_batch`], [`mean_box_iou`] | area of the intersection / area of the union | `keras_cv.bounding_box.compute_iou` |
//! | [`non_max_suppression`] | greedy NMS, per class or class-agnostic | `tf.image.non_max_suppression`, `combined_non_max_suppression` |
//! | [`average_precision`], [`mean_average_precision`] | VOC 2007 11-point, all-point (VOC 2010+) or COCO 101-point AP at one IoU threshold | `mAP@0.5` |
//! | [`ap_from_curve`] | the AP of a precision-recall table | |
//!
//! # Box convention
//!
//! A [`BoundingBox`] is a rectangle in continuous coordinates: `x_min ≤ x ≤ x_max`,
//! `y_min ≤ y ≤ y_max`, with `x` the column and `y` the row direction. Any unit works
//! (pixels, or fractions of the image size as the localization targets) as long as both
//! boxes of a comparison use the same. A pixel box of `cnnkit-data`
//! ([`PixelBox`](cnnkit_data::canvas::PixelBox), exclusive maxima) converts with `into()`
//! to the box of the same numbers: its pixels `x_min..x_max` cover exactly
//! `[x_min, x_max)`, so areas and IoUs are the pixel counts. A box whose maximum is below
//! its minimum has zero width (or height) and zero area.
//!
//! # Average precision, exactly
//!
//! For one class `c` and an IoU threshold `t` (0.5, [`DEFAULT_IOU_THRESHOLD`], unless told):
//!
//! 1. **Ranking.** All detections of class `c`, over all images, sorted by score, highest
//!    first; equal scores keep the order of the input (image, then position in the image).
//! 2. **Matching** (greedy, in that order). A detection in image `i` is a *true positive*
//!    (TP) when some ground truth of class `c` in image `i` that no earlier detection
//!    matched has `IoU ≥ t` with it; it then takes the one of highest IoU (ties: the first
//!    listed), which is matched from then on. Otherwise it is a *false positive* (FP): a
//!    second detection of an already found object (a duplicate) is a FP. This is COCO's
//!    matching (pycocotools, without crowd regions); the VOC devkit differs in one corner
//!    case: it looks only at the ground truth of highest IoU and counts a FP if that one
//!    is taken, even when another free ground truth also passes the threshold.
//! 3. **Precision and recall** after the first `k` detections: `P_k = TP_k / k` and
//!    `R_k = TP_k / G`, with `G` the number of ground truths of class `c` in all images.
//! 4. **AP** from the points `(R_k, P_k)` ([`ApMethod`]):
//!    - [`ApMethod::Voc2007`], 11-point interpolation: `AP = (1/11) Σ_{r ∈ {0, 0.1, …, 1}}
//!      max{P_k : R_k ≥ r}`, a maximum over no point being 0;
//!    - [`ApMethod::Coco101`], the same with the 101 recalls `0, 0.01, …, 1`;
//!    - [`ApMethod::AllPoints`] (VOC 2010 and later): the area under the monotone precision
//!      envelope `P̂_k = max{P_j : j ≥ k}`, `AP = Σ_k (R_k − R_{k−1}) P̂_k` with `R_0 = 0`;
//!      recall never reached counts as precision 0.
//!
//!    The recall levels are the exact fractions `j / 10` and `j / 100` (NumPy's
//!    `arange`/`linspace` in the reference code differ from them in the last bit).
//!
//! **mAP** is the mean of the APs of the classes that have at least one ground truth in the
//! data set. A class without ground truth has no AP (recall is undefined) and is left out,
//! its detections with it, as VOC and COCO do. No detection at all for a class gives AP 0.
//!
//! ```
//! use cnnkit_nn::detection::{mean_average_precision, ApMethod, Detection, GroundTruth};
//! // One image, two objects of class 0; three detections.
//! let truth = vec![vec![
//!     GroundTruth::new([0.0, 0.0, 10.0, 10.0], 0),
//!     GroundTruth::new([20.0, 20.0, 30.0, 30.0], 0),
//! ]];
//! let found = vec![vec![
//!     Detection::new([0.0, 0.0, 10.0, 9.0], 0, 0.9),    // IoU 0.9: TP
//!     Detection::new([1.0, 0.0, 10.0, 10.0], 0, 0.8),   // the same object again: FP
//!     Detection::new([20.0, 20.0, 30.0, 30.0], 0, 0.7), // TP
//! ]];
//! let map = mean_average_precision(&found, &truth, 0.5, ApMethod::AllPoints)?;
//! // Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1: AP = 0.5 * 1 + 0.5 * 2/3.
//! assert!((map.map - (0.5 + 1.0 / 3.0)).abs() < 1e-6);
//! # Ok::<(), cnnkit_nn::Error>(())
//! ```

pub mod windows;

use cnnkit_data::canvas::{BoxFormat, CanvasObject, CanvasSet, PixelBox};
use ndarray::Array2;

use crate::error::{Error, Result};

/// The IoU a detection needs to match a ground truth unless told otherwise (PASCAL VOC's
/// and the book's 0.5; COCO's `AP50`).
///
/// ```
/// assert_eq!(cnnkit_nn::detection::DEFAULT_IOU_THRESHOLD, 0.5);
/// ```
pub const DEFAULT_IOU_THRESHOLD: f32 = 0.5;

/// A rectangle `x_min ≤ x ≤ x_max`, `y_min ≤ y ≤ y_max` (see the
/// [module documentation](self) for the convention).
///
/// ```
/// use cnnkit_nn::detection::BoundingBox;
/// let b = BoundingBox::new(10.0, 20.0, 30.0, 60.0);
/// assert_eq!((b.width(), b.height(), b.area()), (20.0, 40.0, 800.0));
/// assert_eq!(b, BoundingBox::from_center(20.0, 40.0, 20.0, 40.0));
/// assert_eq!(b, [10.0, 20.0, 30.0, 60.0].into());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct BoundingBox {
    /// Left edge.
    pub x_min: f32,
    /// Top edge.
    pub y_min: f32,
    /// Right edge.
    pub x_max: f32,
    /// Bottom edge.
    pub y_max: f32,
}

impl BoundingBox {
    /// The box with these edges.
    ///
    /// ```
    /// let b = cnnkit_nn::detection::BoundingBox::new(0.0, 1.0, 2.0, 3.0);
    /// assert_eq!((b.x_min, b.y_min, b.x_max, b.y_max), (0.0, 1.0, 2.0, 3.0));
    /// ```
    pub fn new(x_min: f32, y_min: f32, x_max: f32, y_max: f32) -> BoundingBox {
        BoundingBox {
            x_min,
            y_min,
            x_max,
            y_max,
        }
    }

    /// The box of centre `(x, y)`, `width` and `height` (the book's localization outputs).
    ///
    /// ```
    /// use cnnkit_nn::detection::BoundingBox;
    /// assert_eq!(BoundingBox::from_center(5.0, 5.0, 4.0, 2.0), BoundingBox::new(3.0, 4.0, 7.0, 6.0));
    /// ```
    pub fn from_center(x: f32, y: f32, width: f32, height: f32) -> BoundingBox {
        BoundingBox::new(
            x - width / 2.0,
            y - height / 2.0,
            x + width / 2.0,
            y + height / 2.0,
        )
    }

    /// The box of four numbers in a [`BoxFormat`] (a model's box output, or
    /// `CanvasSet::boxes(format)`), in the same units.
    ///
    /// ```
    /// use cnnkit_data::canvas::BoxFormat;
    /// use cnnkit_nn::detection::BoundingBox;
    /// let a = BoundingBox::from_array([0.5, 0.5, 0.5, 0.25], BoxFormat::Center);
    /// assert_eq!(a, BoundingBox::new(0.25, 0.375, 0.75, 0.625));
    /// assert_eq!(BoundingBox::from_array([0.1, 0.2, 0.3, 0.4], BoxFormat::Corners).y_max, 0.4);
    /// ```
    pub fn from_array(values: [f32; 4], format: BoxFormat) -> BoundingBox {
        let [a, b, c, d] = values;
        match format {
            BoxFormat::Corners => BoundingBox::new(a, b, c, d),
            BoxFormat::Center => BoundingBox::from_center(a, b, c, d),
        }
    }

    /// The four numbers in a [`BoxFormat`]: the inverse of [`from_array`](Self::from_array).
    ///
    /// ```
    /// use cnnkit_data::canvas::BoxFormat;
    /// let b = cnnkit_nn::detection::BoundingBox::new(2.0, 2.0, 6.0, 4.0);
    /// assert_eq!(b.to_array(BoxFormat::Center), [4.0, 3.0, 4.0, 2.0]);
    /// ```
    pub fn to_array(&self, format: BoxFormat) -> [f32; 4] {
        match format {
            BoxFormat::Corners => [self.x_min, self.y_min, self.x_max, self.y_max],
            BoxFormat::Center => {
                let (x, y) = self.center();
                [x, y, self.x_max - self.x_min, self.y_max - self.y_min]
            }
        }
    }

    /// The box with `x` multiplied by `sx` and `y` by `sy`: from fractions of the image
    /// to pixels with `scaled(width, height)`, and back with `scaled(1.0 / width, ...)`.
    ///
    /// ```
    /// use cnnkit_nn::detection::BoundingBox;
    /// let b = BoundingBox::new(0.25, 0.5, 0.5, 1.0).scaled(64.0, 32.0);
    /// assert_eq!(b, BoundingBox::new(16.0, 16.0, 32.0, 32.0));
    /// ```
    pub fn scaled(&self, sx: f32, sy: f32) -> BoundingBox {
        BoundingBox::new(
            self.x_min * sx,
            self.y_min * sy,
            self.x_max * sx,
            self.y_max * sy,
        )
    }

    /// `x_max - x_min`, or 0 if that is negative.
    ///
    /// ```
    /// use cnnkit_nn::detection::BoundingBox;
    /// assert_eq!(BoundingBox::new(3.0, 0.0, 1.0, 1.0).width(), 0.0);
    /// ```
    pub fn width(&self) -> f32 {
        (self.x_max - self.x_min).max(0.0)
    }

    /// `y_max - y_min`, or 0 if that is negative.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::BoundingBox::new(0.0, 1.0, 1.0, 4.0).height(), 3.0);
    /// ```
    pub fn height(&self) -> f32 {
        (self.y_max - self.y_min).max(0.0)
    }

    /// `width × height`.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::BoundingBox::new(0.0, 0.0, 2.0, 3.0).area(), 6.0);
    /// ```
    pub fn area(&self) -> f32 {
        self.width() * self.height()
    }

    /// The centre `(x, y)`.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::BoundingBox::new(0.0, 0.0, 2.0, 4.0).center(), (1.0, 2.0));
    /// ```
    pub fn center(&self) -> (f32, f32) {
        (
            (self.x_min + self.x_max) / 2.0,
            (self.y_min + self.y_max) / 2.0,
        )
    }

    /// The area both boxes cover (0 when they only touch or are apart).
    ///
    /// ```
    /// use cnnkit_nn::detection::BoundingBox;
    /// let a = BoundingBox::new(0.0, 0.0, 4.0, 4.0);
    /// assert_eq!(a.intersection(&BoundingBox::new(2.0, 3.0, 9.0, 9.0)), 2.0);
    /// assert_eq!(a.intersection(&BoundingBox::new(4.0, 0.0, 9.0, 4.0)), 0.0);
    /// ```
    pub fn intersection(&self, other: &BoundingBox) -> f32 {
        let w = (self.x_max.min(other.x_max) - self.x_min.max(other.x_min)).max(0.0);
        let h = (self.y_max.min(other.y_max) - self.y_min.max(other.y_min)).max(0.0);
        w * h
    }

    /// Intersection over union, see [`iou`].
    ///
    /// ```
    /// use cnnkit_nn::detection::BoundingBox;
    /// let a = BoundingBox::new(0.0, 0.0, 2.0, 2.0);
    /// assert_eq!(a.iou(&BoundingBox::new(1.0, 0.0, 3.0, 2.0)), 2.0 / 6.0);
    /// ```
    pub fn iou(&self, other: &BoundingBox) -> f32 {
        let inter = self.intersection(other);
        let union = self.area() + other.area() - inter;
        if union > 0.0 {
            inter / union
        } else {
            0.0
        }
    }

    /// True when all four edges are finite numbers.
    ///
    /// ```
    /// use cnnkit_nn::detection::BoundingBox;
    /// assert!(!BoundingBox::new(0.0, f32::NAN, 1.0, 1.0).is_finite());
    /// ```
    pub fn is_finite(&self) -> bool {
        [self.x_min, self.y_min, self.x_max, self.y_max]
            .iter()
            .all(|v| v.is_finite())
    }
}

impl From<[f32; 4]> for BoundingBox {
    /// `[x_min, y_min, x_max, y_max]` ([`BoxFormat::Corners`]).
    fn from(v: [f32; 4]) -> BoundingBox {
        BoundingBox::from_array(v, BoxFormat::Corners)
    }
}

impl From<PixelBox> for BoundingBox {
    /// The same four numbers: pixels `x_min..x_max` cover `[x_min, x_max)`.
    fn from(b: PixelBox) -> BoundingBox {
        BoundingBox::new(
            b.x_min as f32,
            b.y_min as f32,
            b.x_max as f32,
            b.y_max as f32,
        )
    }
}

impl From<&PixelBox> for BoundingBox {
    fn from(b: &PixelBox) -> BoundingBox {
        (*b).into()
    }
}

/// Intersection over union of two boxes: the area they share divided by the area either
/// covers, in `0..=1`; 0 when both are empty (union 0). NaN edges give NaN.
///
/// Accepts [`BoundingBox`]es, `[x_min, y_min, x_max, y_max]` arrays and `cnnkit-data`'s
/// pixel boxes.
///
/// ```
/// use cnnkit_nn::detection::iou;
/// // Two 2 × 2 squares shifted by one: they share 2, cover 4 + 4 - 2 = 6.
/// assert_eq!(iou([0.0, 0.0, 2.0, 2.0], [1.0, 0.0, 3.0, 2.0]), 1.0 / 3.0);
/// assert_eq!(iou([0.0, 0.0, 1.0, 1.0], [5.0, 5.0, 6.0, 6.0]), 0.0);
/// let a = cnnkit_data::canvas::PixelBox::new(0, 0, 4, 4);
/// assert_eq!(iou(a, a), 1.0);
/// ```
pub fn iou(a: impl Into<BoundingBox>, b: impl Into<BoundingBox>) -> f32 {
    a.into().iou(&b.into())
}

/// The IoU of every box of `a` with every box of `b`: `m[[i, j]] = iou(a[i], b[j])`.
///
/// # Shapes
/// `a`: `n` boxes, `b`: `m` boxes; result `(n, m)`.
///
/// ```
/// use cnnkit_nn::detection::{iou_matrix, BoundingBox};
/// let a = [BoundingBox::new(0.0, 0.0, 2.0, 2.0), BoundingBox::new(5.0, 5.0, 6.0, 6.0)];
/// let b = [BoundingBox::new(1.0, 0.0, 3.0, 2.0)];
/// let m = iou_matrix(&a, &b);
/// assert_eq!(m.dim(), (2, 1));
/// assert_eq!((m[[0, 0]], m[[1, 0]]), (1.0 / 3.0, 0.0));
/// ```
pub fn iou_matrix(a: &[BoundingBox], b: &[BoundingBox]) -> Array2<f32> {
    Array2::from_shape_fn((a.len(), b.len()), |(i, j)| a[i].iou(&b[j]))
}

/// The IoU of each predicted box with the true box of the same image, for boxes given as
/// four numbers in `format` (a localization model's box outputs against
/// `CanvasSet::boxes(format)`).
///
/// # Shapes
/// `predicted`, `truth`: `n` boxes each; result: `n` IoUs.
///
/// # Errors
/// [`Error::Invalid`] when the two lists differ in length.
///
/// ```
/// use cnnkit_data::canvas::BoxFormat;
/// let predicted = [[0.5, 0.5, 0.5, 0.5], [0.25, 0.25, 0.5, 0.5]];
/// let truth = [[0.5, 0.5, 0.5, 0.25], [0.75, 0.75, 0.5, 0.5]];
/// let ious = cnnkit_nn::detection::iou_batch(&predicted, &truth, BoxFormat::Center)?;
/// assert_eq!(ious, vec![0.5, 0.0]); // half the box; boxes that only touch
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn iou_batch(
    predicted: &[[f32; 4]],
    truth: &[[f32; 4]],
    format: BoxFormat,
) -> Result<Vec<f32>> {
    if predicted.len() != truth.len() {
        return Err(Error::invalid(
            "boxes",
            format!(
                "{} predicted boxes but {} true boxes: give one prediction per image",
                predicted.len(),
                truth.len()
            ),
        ));
    }
    Ok(predicted
        .iter()
        .zip(truth)
        .map(|(&p, &t)| BoundingBox::from_array(p, format).iou(&BoundingBox::from_array(t, format)))
        .collect())
}

/// The mean of [`iou_batch`]: the localization metric of the book ("mean IoU").
///
/// # Errors
/// [`Error::Invalid`] when the lists differ in length or are empty.
///
/// ```
/// use cnnkit_data::canvas::BoxFormat;
/// let predicted = [[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 1.0, 1.0]];
/// let truth = [[0.0, 0.0, 0.5, 0.5], [0.0, 0.0, 0.5, 1.0]];
/// let m = cnnkit_nn::detection::mean_box_iou(&predicted, &truth, BoxFormat::Corners)?;
/// assert_eq!(m, (1.0 + 0.5) / 2.0);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn mean_box_iou(predicted: &[[f32; 4]], truth: &[[f32; 4]], format: BoxFormat) -> Result<f32> {
    let ious = iou_batch(predicted, truth, format)?;
    if ious.is_empty() {
        return Err(Error::invalid(
            "boxes",
            "no boxes: the mean IoU needs at least one image",
        ));
    }
    Ok((ious.iter().map(|&v| v as f64).sum::<f64>() / ious.len() as f64) as f32)
}

/// A box found by a model: where, which class, how sure.
///
/// ```
/// use cnnkit_nn::detection::Detection;
/// let d = Detection::new([4.0, 4.0, 20.0, 30.0], 7, 0.92);
/// assert_eq!((d.class, d.score, d.bbox.width()), (7, 0.92, 16.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Detection {
    /// The box.
    pub bbox: BoundingBox,
    /// The class index (a Fashion-MNIST label on the canvases).
    pub class: usize,
    /// The confidence (a class probability); higher is surer.
    pub score: f32,
}

impl Detection {
    /// A detection of `class` with `score` at `bbox`.
    ///
    /// ```
    /// let d = cnnkit_nn::detection::Detection::new([0.0, 0.0, 1.0, 1.0], 3, 0.5);
    /// assert_eq!(d.bbox.area(), 1.0);
    /// ```
    pub fn new(bbox: impl Into<BoundingBox>, class: usize, score: f32) -> Detection {
        Detection {
            bbox: bbox.into(),
            class,
            score,
        }
    }
}

/// A true object: its box and class.
///
/// ```
/// use cnnkit_nn::detection::GroundTruth;
/// let g = GroundTruth::new(cnnkit_data::canvas::PixelBox::new(2, 3, 10, 12), 4);
/// assert_eq!((g.class, g.bbox.x_max), (4, 10.0));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GroundTruth {
    /// The box.
    pub bbox: BoundingBox,
    /// The class index.
    pub class: usize,
}

impl GroundTruth {
    /// A true object of `class` at `bbox`.
    ///
    /// ```
    /// let g = cnnkit_nn::detection::GroundTruth::new([0.0, 0.0, 5.0, 5.0], 1);
    /// assert_eq!(g.bbox.area(), 25.0);
    /// ```
    pub fn new(bbox: impl Into<BoundingBox>, class: usize) -> GroundTruth {
        GroundTruth {
            bbox: bbox.into(),
            class,
        }
    }
}

impl From<&CanvasObject> for GroundTruth {
    /// The object's exact pixel box and class.
    fn from(o: &CanvasObject) -> GroundTruth {
        GroundTruth::new(o.bbox, o.class as usize)
    }
}

/// The objects of every canvas as ground truths, in pixel coordinates: the `ground_truths`
/// argument of [`mean_average_precision`].
///
/// ```
/// use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
/// let split = cnnkit_data::Split::new(vec![255; 784], vec![5])?;
/// let set = CanvasSet::from_split(&split, 3, &CanvasConfig::default().objects(2, 2))?;
/// let truth = cnnkit_nn::detection::ground_truths(&set);
/// assert_eq!(truth.len(), 3);
/// assert!(truth.iter().all(|g| g.len() == 2 && g[0].class == 5 && g[0].bbox.width() == 28.0));
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn ground_truths(set: &CanvasSet) -> Vec<Vec<GroundTruth>> {
    set.objects()
        .iter()
        .map(|objects| objects.iter().map(GroundTruth::from).collect())
        .collect()
}

/// Settings of [`non_max_suppression`], with Keras / TensorFlow's defaults.
///
/// ```
/// use cnnkit_nn::detection::NmsConfig;
/// let c = NmsConfig::default();
/// assert_eq!((c.iou_threshold, c.score_threshold, c.max_detections, c.per_class), (0.5, 0.0, 100, true));
/// let strict = NmsConfig { iou_threshold: 0.3, ..NmsConfig::default() };
/// assert_eq!(strict, NmsConfig::default().iou_threshold(0.3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NmsConfig {
    /// A box is suppressed when its IoU with a kept box (of the same class, if
    /// `per_class`) is **above** this (default 0.5, as `tf.image.non_max_suppression`).
    pub iou_threshold: f32,
    /// Only detections with a score **above** this are considered (default 0.0).
    pub score_threshold: f32,
    /// At most this many detections are kept in all (default 100, KerasCV's).
    pub max_detections: usize,
    /// `true` (default): boxes suppress only boxes of their own class
    /// (`combined_non_max_suppression`); `false`: any class (class-agnostic).
    pub per_class: bool,
}

impl Default for NmsConfig {
    fn default() -> Self {
        NmsConfig {
            iou_threshold: 0.5,
            score_threshold: 0.0,
            max_detections: 100,
            per_class: true,
        }
    }
}

impl NmsConfig {
    /// The defaults.
    ///
    /// ```
    /// use cnnkit_nn::detection::NmsConfig;
    /// assert_eq!(NmsConfig::new(), NmsConfig::default());
    /// ```
    pub fn new() -> NmsConfig {
        NmsConfig::default()
    }

    /// Another IoU threshold.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::NmsConfig::new().iou_threshold(0.7).iou_threshold, 0.7);
    /// ```
    pub fn iou_threshold(self, iou_threshold: f32) -> NmsConfig {
        NmsConfig {
            iou_threshold,
            ..self
        }
    }

    /// Another score threshold.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::NmsConfig::new().score_threshold(0.3).score_threshold, 0.3);
    /// ```
    pub fn score_threshold(self, score_threshold: f32) -> NmsConfig {
        NmsConfig {
            score_threshold,
            ..self
        }
    }

    /// Another limit on the detections kept.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::NmsConfig::new().max_detections(5).max_detections, 5);
    /// ```
    pub fn max_detections(self, max_detections: usize) -> NmsConfig {
        NmsConfig {
            max_detections,
            ..self
        }
    }

    /// Per class (`true`) or class-agnostic (`false`).
    ///
    /// ```
    /// assert!(!cnnkit_nn::detection::NmsConfig::new().per_class(false).per_class);
    /// ```
    pub fn per_class(self, per_class: bool) -> NmsConfig {
        NmsConfig { per_class, ..self }
    }
}

/// Checks that every detection has a finite box and score.
fn check_detections<'a>(
    detections: impl Iterator<Item = &'a Detection>,
    image: Option<usize>,
) -> Result<()> {
    for (i, d) in detections.enumerate() {
        if !d.bbox.is_finite() || !d.score.is_finite() {
            let place = image.map_or(String::new(), |im| format!(" of image {im}"));
            return Err(Error::invalid(
                "detections",
                format!(
                    "detection {i}{place} has box {:?} and score {}: boxes and scores must be \
                     finite numbers (did the model output NaN?)",
                    d.bbox, d.score
                ),
            ));
        }
    }
    Ok(())
}

/// The indices (into `detections`) of the detections [`non_max_suppression`] keeps, in
/// the order it keeps them (highest score first).
///
/// # Errors
/// As [`non_max_suppression`].
///
/// ```
/// use cnnkit_nn::detection::{nms_indices, Detection, NmsConfig};
/// let d = [
///     Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.6),
///     Detection::new([1.0, 1.0, 10.0, 10.0], 0, 0.9), // IoU 0.81 with the first
/// ];
/// assert_eq!(nms_indices(&d, &NmsConfig::default())?, vec![1]);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn nms_indices(detections: &[Detection], config: &NmsConfig) -> Result<Vec<usize>> {
    if !(0.0..=1.0).contains(&config.iou_threshold) {
        return Err(Error::invalid(
            "iou_threshold",
            format!(
                "{} is outside 0..=1; 0.5 is usual (boxes overlapping more are duplicates)",
                config.iou_threshold
            ),
        ));
    }
    if config.score_threshold.is_nan() {
        return Err(Error::invalid(
            "score_threshold",
            "NaN; use 0.0 to keep every detection with a positive score",
        ));
    }
    check_detections(detections.iter(), None)?;
    let mut order: Vec<usize> = (0..detections.len())
        .filter(|&i| detections[i].score > config.score_threshold)
        .collect();
    // Highest score first; the stable sort keeps equal scores in input order.
    order.sort_by(|&a, &b| detections[b].score.total_cmp(&detections[a].score));
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept.len() >= config.max_detections {
            break;
        }
        let d = &detections[i];
        let suppressed = kept.iter().any(|&k| {
            let other = &detections[k];
            (!config.per_class || other.class == d.class)
                && other.bbox.iou(&d.bbox) > config.iou_threshold
        });
        if !suppressed {
            kept.push(i);
        }
    }
    Ok(kept)
}

/// Greedy non-max suppression: keeps the best detection, drops the others that overlap
/// it by more than `iou_threshold`, and repeats with the best of the rest.
///
/// Exactly: detections with `score > score_threshold` are taken in order of decreasing
/// score (equal scores in input order, so the result is deterministic); each one is kept
/// unless a detection kept before it (of the same class when `per_class`) has an IoU
/// above `iou_threshold` with it; at most `max_detections` are kept, counted over all
/// classes. The result is in that order, highest score first. Per class, this is the
/// same as running the class-agnostic algorithm on each class alone and merging by score.
///
/// # Errors
/// [`Error::Invalid`] for an `iou_threshold` outside `0..=1`, a NaN `score_threshold`, or a
/// detection with a non-finite box or score.
///
/// ```
/// use cnnkit_nn::detection::{non_max_suppression, Detection, NmsConfig};
/// let d = [
///     Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.9),
///     Detection::new([1.0, 0.0, 11.0, 10.0], 0, 0.8),  // IoU 9/11 with the first: dropped
///     Detection::new([1.0, 0.0, 11.0, 10.0], 3, 0.7),  // another class: kept per class
///     Detection::new([30.0, 0.0, 40.0, 10.0], 0, 0.6), // elsewhere: kept
/// ];
/// let kept = non_max_suppression(&d, &NmsConfig::default())?;
/// assert_eq!(kept, vec![d[0], d[2], d[3]]);
/// let agnostic = non_max_suppression(&d, &NmsConfig::default().per_class(false))?;
/// assert_eq!(agnostic, vec![d[0], d[3]]);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn non_max_suppression(detections: &[Detection], config: &NmsConfig) -> Result<Vec<Detection>> {
    Ok(nms_indices(detections, config)?
        .into_iter()
        .map(|i| detections[i])
        .collect())
}

/// How average precision is computed from the precision-recall points (see the
/// [module documentation](self) for the formulas).
///
/// ```
/// use cnnkit_nn::detection::ApMethod;
/// assert_eq!(ApMethod::default(), ApMethod::AllPoints);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ApMethod {
    /// PASCAL VOC 2007: the mean of the interpolated precision at the 11 recalls
    /// `0, 0.1, …, 1`.
    Voc2007,
    /// PASCAL VOC 2010 and later: the area under the monotone precision envelope, every
    /// recall step counted.
    #[default]
    AllPoints,
    /// COCO: the mean of the interpolated precision at the 101 recalls `0, 0.01, …, 1`.
    Coco101,
}

impl ApMethod {
    /// A short name for tables: `"VOC2007 11-point"`, `"all-point"`, `"COCO 101-point"`.
    ///
    /// ```
    /// assert_eq!(cnnkit_nn::detection::ApMethod::Voc2007.name(), "VOC2007 11-point");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            ApMethod::Voc2007 => "VOC2007 11-point",
            ApMethod::AllPoints => "all-point",
            ApMethod::Coco101 => "COCO 101-point",
        }
    }
}

/// One row of a class's precision-recall table: a detection in rank order, whether it
/// matched, and precision and recall after it.
///
/// ```
/// use cnnkit_nn::detection::{average_precision, ApMethod, Detection, GroundTruth};
/// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 2)]];
/// let found = vec![vec![Detection::new([0.0, 0.0, 4.0, 4.0], 2, 0.8)]];
/// let ap = average_precision(&found, &truth, 2, 0.5, ApMethod::AllPoints)?.unwrap();
/// let row = ap.table[0];
/// assert!(row.true_positive && row.precision == 1.0 && row.recall == 1.0);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RankedDetection {
    /// The image the detection belongs to.
    pub image: usize,
    /// Its position in that image's list of detections.
    pub index: usize,
    /// Its score.
    pub score: f32,
    /// Whether it matched a ground truth (TP) or not (FP).
    pub true_positive: bool,
    /// The IoU with the ground truth it matched (0 for a false positive).
    pub iou: f32,
    /// Precision after this detection: TPs so far / detections so far.
    pub precision: f32,
    /// Recall after this detection: TPs so far / ground truths of the class.
    pub recall: f32,
}

/// The average precision of one class, with its precision-recall table.
///
/// ```
/// use cnnkit_nn::detection::{average_precision, ApMethod, Detection, GroundTruth};
/// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 0), GroundTruth::new([9.0, 9.0, 12.0, 12.0], 0)]];
/// let found = vec![vec![Detection::new([0.0, 0.0, 4.0, 4.0], 0, 0.8)]];
/// let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)?.unwrap();
/// assert_eq!((ap.ground_truths, ap.true_positives(), ap.ap), (2, 1, 0.5));
/// assert_eq!(ap.precision(), vec![1.0]);
/// assert_eq!(ap.recall(), vec![0.5]);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ClassAp {
    /// The class.
    pub class: usize,
    /// Its average precision, in `0..=1`.
    pub ap: f32,
    /// Ground truths of the class over all images.
    pub ground_truths: usize,
    /// Its detections in rank order with precision and recall after each.
    pub table: Vec<RankedDetection>,
}

impl ClassAp {
    /// Detections of the class that matched a ground truth.
    ///
    /// ```
    /// use cnnkit_nn::detection::{average_precision, ApMethod, Detection, GroundTruth};
    /// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 0)]];
    /// let found = vec![vec![
    ///     Detection::new([9.0, 9.0, 12.0, 12.0], 0, 0.9), // FP
    ///     Detection::new([0.0, 0.0, 4.0, 4.0], 0, 0.5),   // TP
    /// ]];
    /// let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)?.unwrap();
    /// assert_eq!(ap.true_positives(), 1);
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    pub fn true_positives(&self) -> usize {
        self.table.iter().filter(|r| r.true_positive).count()
    }

    /// The precision column of [`table`](Self::table).
    ///
    /// ```
    /// use cnnkit_nn::detection::{average_precision, ApMethod, Detection, GroundTruth};
    /// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 0)]];
    /// let found = vec![vec![
    ///     Detection::new([9.0, 9.0, 12.0, 12.0], 0, 0.9), // FP
    ///     Detection::new([0.0, 0.0, 4.0, 4.0], 0, 0.5),   // TP
    /// ]];
    /// let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)?.unwrap();
    /// assert_eq!(ap.precision(), vec![0.0, 0.5]);
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    pub fn precision(&self) -> Vec<f32> {
        self.table.iter().map(|r| r.precision).collect()
    }

    /// The recall column of [`table`](Self::table).
    ///
    /// ```
    /// use cnnkit_nn::detection::{average_precision, ApMethod, Detection, GroundTruth};
    /// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 0)]];
    /// let found = vec![vec![
    ///     Detection::new([9.0, 9.0, 12.0, 12.0], 0, 0.9), // FP
    ///     Detection::new([0.0, 0.0, 4.0, 4.0], 0, 0.5),   // TP
    /// ]];
    /// let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)?.unwrap();
    /// assert_eq!(ap.recall(), vec![0.0, 1.0]);
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    pub fn recall(&self) -> Vec<f32> {
        self.table.iter().map(|r| r.recall).collect()
    }
}

/// Mean average precision over the classes with ground truths, and each class's AP.
///
/// ```
/// use cnnkit_nn::detection::{mean_average_precision, ApMethod, Detection, GroundTruth};
/// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 0)], vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 3)]];
/// let found = vec![vec![Detection::new([0.0, 0.0, 4.0, 4.0], 0, 0.9)], vec![]];
/// let m = mean_average_precision(&found, &truth, 0.5, ApMethod::Voc2007)?;
/// assert_eq!(m.map, 0.5); // class 0 found (AP 1), class 3 missed (AP 0)
/// assert_eq!(m.ap_of(3), Some(0.0));
/// assert_eq!(m.ap_of(1), None); // no ground truth of class 1
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct MeanAp {
    /// The mean of the classes' APs.
    pub map: f32,
    /// The classes that have ground truths, in increasing order.
    pub classes: Vec<ClassAp>,
    /// The IoU threshold used.
    pub iou_threshold: f32,
    /// The AP method used.
    pub method: ApMethod,
}

impl MeanAp {
    /// The AP of `class`, or `None` if it has no ground truth.
    ///
    /// ```
    /// use cnnkit_nn::detection::{mean_average_precision, ApMethod, Detection, GroundTruth};
    /// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 4.0, 4.0], 6)]];
    /// let found = vec![vec![Detection::new([0.0, 0.0, 4.0, 4.0], 6, 0.9)]];
    /// let m = mean_average_precision(&found, &truth, 0.5, ApMethod::AllPoints)?;
    /// assert_eq!((m.ap_of(6), m.ap_of(0)), (Some(1.0), None));
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    pub fn ap_of(&self, class: usize) -> Option<f32> {
        self.classes.iter().find(|c| c.class == class).map(|c| c.ap)
    }
}

/// The average precision of a precision-recall table in rank order (`precision[k]` and
/// `recall[k]` after the first `k + 1` detections), by `method`.
///
/// # Errors
/// [`Error::Invalid`] when the columns differ in length, hold values outside `0..=1`, or
/// recall decreases.
///
/// ```
/// use cnnkit_nn::detection::{ap_from_curve, ApMethod};
/// let precision = [1.0, 0.5, 2.0 / 3.0];
/// let recall = [0.5, 0.5, 1.0];
/// // 11-point: recalls 0..0.5 (6 points) interpolate to 1, 0.6..1 (5 points) to 2/3.
/// let voc = ap_from_curve(&precision, &recall, ApMethod::Voc2007)?;
/// assert!((voc - (6.0 + 5.0 * 2.0 / 3.0) / 11.0).abs() < 1e-6);
/// let all = ap_from_curve(&precision, &recall, ApMethod::AllPoints)?;
/// assert!((all - (0.5 + 0.5 * 2.0 / 3.0)).abs() < 1e-6);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn ap_from_curve(precision: &[f32], recall: &[f32], method: ApMethod) -> Result<f32> {
    if precision.len() != recall.len() {
        return Err(Error::invalid(
            "precision-recall table",
            format!(
                "{} precisions but {} recalls: give one of each per detection",
                precision.len(),
                recall.len()
            ),
        ));
    }
    for (k, (&p, &r)) in precision.iter().zip(recall).enumerate() {
        if !(0.0..=1.0).contains(&p) || !(0.0..=1.0).contains(&r) {
            return Err(Error::invalid(
                "precision-recall table",
                format!("row {k} has precision {p} and recall {r}; both must be in 0..=1"),
            ));
        }
        if k > 0 && r < recall[k - 1] {
            return Err(Error::invalid(
                "precision-recall table",
                format!(
                    "recall falls from {} to {r} at row {k}: rows must be in rank order, \
                     where recall never decreases",
                    recall[k - 1]
                ),
            ));
        }
    }
    let p: Vec<f64> = precision.iter().map(|&v| v as f64).collect();
    let r: Vec<f64> = recall.iter().map(|&v| v as f64).collect();
    Ok(ap_of_points(&p, &r, method) as f32)
}

/// AP of valid points (recall non-decreasing), in f64.
fn ap_of_points(precision: &[f64], recall: &[f64], method: ApMethod) -> f64 {
    let interpolated = |levels: u32| -> f64 {
        let sum: f64 = (0..=levels)
            .map(|j| {
                let level = j as f64 / levels as f64;
                precision
                    .iter()
                    .zip(recall)
                    .filter(|&(_, &r)| r >= level)
                    .map(|(&p, _)| p)
                    .fold(0.0, f64::max)
            })
            .sum();
        sum / (levels + 1) as f64
    };
    match method {
        ApMethod::Voc2007 => interpolated(10),
        ApMethod::Coco101 => interpolated(100),
        ApMethod::AllPoints => {
            // The envelope from the right, then the area of its steps.
            let mut envelope = precision.to_vec();
            for k in (0..envelope.len().saturating_sub(1)).rev() {
                envelope[k] = envelope[k].max(envelope[k + 1]);
            }
            let mut previous = 0.0;
            let mut area = 0.0;
            for (&r, &p) in recall.iter().zip(&envelope) {
                area += (r - previous) * p;
                previous = r;
            }
            area
        }
    }
}

/// Checks the inputs shared by the AP functions.
fn check_ap_inputs(
    detections: &[Vec<Detection>],
    ground_truths: &[Vec<GroundTruth>],
    iou_threshold: f32,
) -> Result<()> {
    if detections.len() != ground_truths.len() {
        return Err(Error::invalid(
            "detections and ground truths",
            format!(
                "detections for {} images but ground truths for {}: give one list of each \
                 per image (an empty list for an image without any)",
                detections.len(),
                ground_truths.len()
            ),
        ));
    }
    if !(0.0..=1.0).contains(&iou_threshold) {
        return Err(Error::invalid(
            "iou_threshold",
            format!("{iou_threshold} is outside 0..=1; mAP@0.5 uses 0.5 (DEFAULT_IOU_THRESHOLD)"),
        ));
    }
    for (im, d) in detections.iter().enumerate() {
        check_detections(d.iter(), Some(im))?;
    }
    for (im, g) in ground_truths.iter().enumerate() {
        if let Some(i) = g.iter().position(|g| !g.bbox.is_finite()) {
            return Err(Error::invalid(
                "ground truths",
                format!(
                    "ground truth {i} of image {im} has a non-finite box {:?}",
                    g[i].bbox
                ),
            ));
        }
    }
    Ok(())
}

/// The AP of one class, inputs checked.
fn class_ap(
    detections: &[Vec<Detection>],
    ground_truths: &[Vec<GroundTruth>],
    class: usize,
    iou_threshold: f32,
    method: ApMethod,
) -> Option<ClassAp> {
    let n_truth: usize = ground_truths
        .iter()
        .map(|g| g.iter().filter(|g| g.class == class).count())
        .sum();
    if n_truth == 0 {
        return None;
    }
    // Ranking: score descending; the stable sort keeps (image, index) order for ties.
    let mut ranked: Vec<(usize, usize)> = detections
        .iter()
        .enumerate()
        .flat_map(|(im, d)| {
            d.iter()
                .enumerate()
                .filter(|(_, d)| d.class == class)
                .map(move |(i, _)| (im, i))
        })
        .collect();
    ranked
        .sort_by(|&(ia, a), &(ib, b)| detections[ib][b].score.total_cmp(&detections[ia][a].score));
    let mut matched: Vec<Vec<bool>> = ground_truths.iter().map(|g| vec![false; g.len()]).collect();
    let (mut tp, mut seen) = (0usize, 0usize);
    let mut points_p = Vec::with_capacity(ranked.len());
    let mut points_r = Vec::with_capacity(ranked.len());
    let mut table = Vec::with_capacity(ranked.len());
    for (im, i) in ranked {
        let d = &detections[im][i];
        // The free ground truth of the class with the highest IoU (first one on ties).
        let mut best: Option<(usize, f32)> = None;
        for (g, truth) in ground_truths[im].iter().enumerate() {
            if truth.class != class || matched[im][g] {
                continue;
            }
            let v = d.bbox.iou(&truth.bbox);
            if v >= iou_threshold && best.is_none_or(|(_, b)| v > b) {
                best = Some((g, v));
            }
        }
        seen += 1;
        if let Some((g, _)) = best {
            matched[im][g] = true;
            tp += 1;
        }
        let precision = tp as f64 / seen as f64;
        let recall = tp as f64 / n_truth as f64;
        points_p.push(precision);
        points_r.push(recall);
        table.push(RankedDetection {
            image: im,
            index: i,
            score: d.score,
            true_positive: best.is_some(),
            iou: best.map_or(0.0, |(_, v)| v),
            precision: precision as f32,
            recall: recall as f32,
        });
    }
    Some(ClassAp {
        class,
        ap: ap_of_points(&points_p, &points_r, method) as f32,
        ground_truths: n_truth,
        table,
    })
}

/// The average precision of `class` over a data set, or `None` when the class has no
/// ground truth in it (see the [module documentation](self) for the exact definition).
///
/// `detections[i]` and `ground_truths[i]` belong to image `i`; boxes of both must use the
/// same units.
///
/// # Errors
/// [`Error::Invalid`] when the two lists cover different numbers of images, the
/// threshold is outside `0..=1`, or a box or score is not finite.
///
/// ```
/// use cnnkit_nn::detection::{average_precision, ApMethod, Detection, GroundTruth};
/// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 10.0, 10.0], 1)]];
/// // A box shifted by 4 of 10 pixels: IoU 60 / 140 = 0.43, a FP at 0.5, a TP at 0.4.
/// let found = vec![vec![Detection::new([4.0, 0.0, 14.0, 10.0], 1, 0.9)]];
/// let at = |t| average_precision(&found, &truth, 1, t, ApMethod::AllPoints).map(|a| a.unwrap().ap);
/// assert_eq!((at(0.5)?, at(0.4)?), (0.0, 1.0));
/// assert_eq!(average_precision(&found, &truth, 2, 0.5, ApMethod::AllPoints)?, None);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn average_precision(
    detections: &[Vec<Detection>],
    ground_truths: &[Vec<GroundTruth>],
    class: usize,
    iou_threshold: f32,
    method: ApMethod,
) -> Result<Option<ClassAp>> {
    check_ap_inputs(detections, ground_truths, iou_threshold)?;
    Ok(class_ap(
        detections,
        ground_truths,
        class,
        iou_threshold,
        method,
    ))
}

/// Mean average precision: the mean of [`average_precision`] over the classes that have
/// at least one ground truth (classes without any are left out, with their detections).
///
/// # Errors
/// As [`average_precision`], and when no image has a ground truth.
///
/// ```
/// use cnnkit_nn::detection::{mean_average_precision, ApMethod, Detection, GroundTruth};
/// let truth = vec![vec![GroundTruth::new([0.0, 0.0, 8.0, 8.0], 4)]];
/// let found = vec![vec![Detection::new([0.0, 0.0, 8.0, 8.0], 4, 0.7)]];
/// let m = mean_average_precision(&found, &truth, 0.5, ApMethod::Coco101)?;
/// assert_eq!((m.map, m.classes.len()), (1.0, 1));
/// assert!(mean_average_precision(&found, &[vec![]], 0.5, ApMethod::Coco101).is_err());
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn mean_average_precision(
    detections: &[Vec<Detection>],
    ground_truths: &[Vec<GroundTruth>],
    iou_threshold: f32,
    method: ApMethod,
) -> Result<MeanAp> {
    check_ap_inputs(detections, ground_truths, iou_threshold)?;
    let mut classes: Vec<usize> = ground_truths.iter().flatten().map(|g| g.class).collect();
    classes.sort_unstable();
    classes.dedup();
    if classes.is_empty() {
        return Err(Error::invalid(
            "ground truths",
            "no image has a ground truth: mAP averages over the classes that occur, and none \
             does",
        ));
    }
    let per_class: Vec<ClassAp> = classes
        .iter()
        .filter_map(|&c| class_ap(detections, ground_truths, c, iou_threshold, method))
        .collect();
    let map = per_class.iter().map(|c| c.ap as f64).sum::<f64>() / per_class.len() as f64;
    Ok(MeanAp {
        map: map as f32,
        classes: per_class,
        iou_threshold,
        method,
    })
}
