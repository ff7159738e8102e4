//! Classification and localization (the book's chapter 14): one object per image, a model
//! with two heads, class scores and four box coordinates, trained on a weighted sum of
//! cross-entropy and mean squared error.
//!
//! | here | Keras (the book) |
//! |---|---|
//! | `(base, Heads<Dense<F, N>, Dense<F, 4>>)` | `keras.Model(inputs, outputs=[class_output, loc_output])` |
//! | [`LossWeights::default`] (0.8, 0.2) | `loss_weights=[0.8, 0.2]` |
//! | [`fit_localization`] | `model.fit(X, (y_class, y_box))` with `loss=["sparse_categorical_crossentropy", "mse"]` |
//! | [`evaluate_localization`] | `model.evaluate(...)` plus the mean IoU of the boxes |

use dfdx::nn::modules::{Module, ModuleMut};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use ndarray::Array2;

use super::epochs::{self, Loss, Tally};
use super::{
    argmax, batch_metrics, check_model, for_each_batch, warn_if_not_finite, Dataset, FitConfig,
    History,
};
use crate::error::{Error, Result};
use crate::model::Describe;
use crate::ops::Images;

/// A box as `[x_min, y_min, x_max, y_max]`, each divided by the image's width or height
/// (so `0..1`; the book's "normalized coordinates").
pub type NormBox = [f32; 4];

/// A batch of boxes, `(batch, 4)`.
type BoxBatch = Tensor<(usize, Const<4>), f32, Cpu>;

/// Images with one object each: its class (in `data.labels`) and its box.
#[derive(Clone, Debug)]
pub struct LocalizationData<const C: usize> {
    /// The images and the objects' classes.
    pub data: Dataset<C>,
    /// One box per image, see [`NormBox`].
    pub boxes: Vec<NormBox>,
    /// How much each image's box counts in the box loss and the IoU metric, like Keras'
    /// `sample_weight` for the box output; `None` (what [`new`](Self::new) gives): 1 for
    /// every image. Set it with [`with_box_weights`](Self::with_box_weights); a weight 0
    /// makes an image's box target irrelevant (a window of pure background in a detector
    /// has no box to learn, as YOLO counts coordinate errors only where an object is).
    pub box_weights: Option<Vec<f32>>,
}

impl<const C: usize> LocalizationData<C> {
    /// Pairs labelled images with their boxes, checking that every image has one box with
    /// coordinates in `0..=1` and `min <= max`.
    ///
    /// # Errors
    /// [`Error::Invalid`] naming the first bad box, or when the counts differ.
    pub fn new(data: Dataset<C>, boxes: Vec<NormBox>) -> Result<Self> {
        if boxes.len() != data.len() || data.labels.len() != data.len() {
            return Err(Error::invalid(
                "localization data",
                format!(
                    "{} images, {} labels and {} boxes: give every image one label and one box",
                    data.len(),
                    data.labels.len(),
                    boxes.len()
                ),
            ));
        }
        if let Some((i, b)) = boxes
            .iter()
            .enumerate()
            .find(|(_, b)| !b.iter().all(|v| (0.0..=1.0).contains(v)) || b[0] > b[2] || b[1] > b[3])
        {
            return Err(Error::invalid(
                "boxes",
                format!(
                    "box {i} is {b:?}; boxes are [x_min, y_min, x_max, y_max] divided by the \
                     image's width and height, in 0..=1 with min <= max"
                ),
            ));
        }
        Ok(LocalizationData {
            data,
            boxes,
            box_weights: None,
        })
    }

    /// The same data with a weight per image for the box loss (see
    /// [`box_weights`](Self::box_weights)): the box head's squared errors are multiplied
    /// by it, and the `iou` metric averages over the images of weight above 0.
    ///
    /// ```
    /// use cnnkit_nn::prelude::*;
    /// use cnnkit_nn::train::LocalizationData;
    /// let data: Dataset<1> = Dataset::new(ndarray::Array4::zeros((2, 4, 4, 1)), vec![0, 1])?;
    /// let loc = LocalizationData::new(data, vec![[0.0, 0.0, 1.0, 1.0]; 2])?;
    /// assert!(loc.clone().with_box_weights(vec![1.0, 0.0]).is_ok());
    /// assert!(loc.clone().with_box_weights(vec![1.0]).is_err()); // one weight per image
    /// assert!(loc.with_box_weights(vec![1.0, -1.0]).is_err()); // weights are >= 0
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Invalid`] when the count differs from the images' or a weight is negative
    /// or not finite.
    pub fn with_box_weights(mut self, weights: Vec<f32>) -> Result<Self> {
        if weights.len() != self.len() {
            return Err(Error::invalid(
                "box weights",
                format!(
                    "{} weights for {} images: give one weight per image",
                    weights.len(),
                    self.len()
                ),
            ));
        }
        if let Some((i, w)) = weights
            .iter()
            .enumerate()
            .find(|(_, w)| !w.is_finite() || **w < 0.0)
        {
            return Err(Error::invalid(
                "box weights",
                format!("weight {i} is {w}; box weights are finite and at least 0"),
            ));
        }
        self.box_weights = Some(weights);
        Ok(self)
    }

    /// The box weight of image `i` (1 without [`box_weights`](Self::box_weights)).
    fn box_weight(&self, i: usize) -> f32 {
        self.box_weights.as_ref().map_or(1.0, |w| w[i])
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn box_targets(&self, dev: &Cpu, idx: &[usize]) -> Result<BoxBatch> {
        let buf: Vec<f32> = idx.iter().flat_map(|&i| self.boxes[i]).collect();
        Ok(dev.try_tensor_from_vec(buf, (idx.len(), Const::<4>))?)
    }

    /// The square roots of the box weights of a batch, repeated for the four coordinates:
    /// multiplying prediction and target by it multiplies each squared error by the weight.
    /// `None` when there are no weights (the loss then stays exactly the unweighted one).
    fn box_weight_roots(&self, dev: &Cpu, idx: &[usize]) -> Result<Option<BoxBatch>> {
        let Some(w) = &self.box_weights else {
            return Ok(None);
        };
        let buf: Vec<f32> = idx.iter().flat_map(|&i| [w[i].sqrt(); 4]).collect();
        Ok(Some(dev.try_tensor_from_vec(buf, (idx.len(), Const::<4>))?))
    }
}

/// The weights of the two losses in the total, Keras' `loss_weights`. The book's choice,
/// 0.8 for the classes and 0.2 for the boxes, is the default: the boxes' squared errors
/// (of coordinates in `0..1`) are much smaller than a cross-entropy, and the class is what
/// the model must get right first.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LossWeights {
    /// Weight of the cross-entropy of the class head.
    pub class: f32,
    /// Weight of the mean squared error of the box head.
    pub boxes: f32,
}

impl Default for LossWeights {
    fn default() -> Self {
        LossWeights {
            class: 0.8,
            boxes: 0.2,
        }
    }
}

/// Two-headed output: class logits `(batch, N)` and boxes `(batch, 4)`.
pub type LocalizerOutput<const N: usize, T = NoneTape> = (
    Tensor<(usize, Const<N>), f32, Cpu, T>,
    Tensor<(usize, Const<4>), f32, Cpu, T>,
);

/// The bound of a model for [`fit_localization`]: `C`-channel images in, [`LocalizerOutput`] out.
pub trait Localizer<const C: usize, const N: usize>:
    Describe
    + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
    + ModuleMut<
        Images<C, OwnedTape<f32, Cpu>>,
        Output = LocalizerOutput<N, OwnedTape<f32, Cpu>>,
        Error = CpuError,
    > + Module<Images<C>, Output = LocalizerOutput<N>, Error = CpuError>
{
}

impl<M, const C: usize, const N: usize> Localizer<C, N> for M where
    M: Describe
        + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
        + ModuleMut<
            Images<C, OwnedTape<f32, Cpu>>,
            Output = LocalizerOutput<N, OwnedTape<f32, Cpu>>,
            Error = CpuError,
        > + Module<Images<C>, Output = LocalizerOutput<N>, Error = CpuError>
{
}

/// Loss, accuracy and box quality of a localization model on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocalizationEvaluation {
    /// `class * class_loss + boxes * box_loss` with the weights used.
    pub loss: f32,
    /// Mean cross-entropy of the class head.
    pub class_loss: f32,
    /// Mean squared error of the box head, over the four coordinates.
    pub box_loss: f32,
    /// Fraction of images whose most probable class is the label.
    pub accuracy: f32,
    /// Mean intersection over union of the predicted and the true boxes.
    pub mean_iou: f32,
}

#[derive(Default)]
struct LocTally {
    class_loss: f64,
    box_loss: f64,
    correct: usize,
    iou: f64,
    /// Images whose box counts (box weight above 0): the IoU's denominator.
    boxed: usize,
    seen: usize,
    weights: Option<LossWeights>,
}

impl LocTally {
    /// Adds a batch: class logits (`n * n_classes`), predicted boxes (`n * 4`), and the
    /// true labels and (box, box weight) pairs of the same images.
    fn add(
        &mut self,
        n_classes: usize,
        logits: &[f32],
        predicted: &[f32],
        labels: impl Iterator<Item = u8>,
        truth: impl Iterator<Item = (NormBox, f32)>,
    ) {
        let (l, c) = batch_metrics(logits, n_classes, labels);
        self.class_loss += l;
        self.correct += c;
        for (p, (t, w)) in predicted.chunks_exact(4).zip(truth) {
            self.seen += 1;
            if w > 0.0 {
                let (mse, iou) = box_error(p, &t);
                self.box_loss += w as f64 * mse;
                self.iou += iou;
                self.boxed += 1;
            }
        }
    }

    fn evaluation(&self) -> LocalizationEvaluation {
        let extra = self.extra();
        LocalizationEvaluation {
            loss: self.loss() as f32,
            class_loss: extra[0].1,
            box_loss: extra[1].1,
            accuracy: self.accuracy() as f32,
            mean_iou: extra[2].1,
        }
    }
}

impl Tally for LocTally {
    fn loss(&self) -> f64 {
        let w = self.weights.unwrap_or_default();
        let n = self.seen.max(1) as f64;
        (w.class as f64 * self.class_loss + w.boxes as f64 * self.box_loss) / n
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.seen.max(1) as f64
    }

    fn extra(&self) -> Vec<(&'static str, f32)> {
        let n = self.seen.max(1) as f64;
        vec![
            ("class_loss", (self.class_loss / n) as f32),
            ("box_loss", (self.box_loss / n) as f32),
            ("iou", (self.iou / self.boxed.max(1) as f64) as f32),
        ]
    }
}

/// The mean squared error over the four coordinates of a predicted box (`p`, four values)
/// and its IoU with the true box `t`: what the localization and grid tallies add up.
pub(super) fn box_error(p: &[f32], t: &NormBox) -> (f64, f64) {
    let p: NormBox = [p[0], p[1], p[2], p[3]];
    let se: f64 = p
        .iter()
        .zip(t)
        .map(|(a, b)| ((a - b) * (a - b)) as f64)
        .sum();
    (se / 4.0, crate::detection::iou(p, *t) as f64)
}

fn check<M: Describe, const C: usize>(
    model: &M,
    data: &LocalizationData<C>,
    what: &str,
) -> Result<()> {
    check_model(model, &data.data, what)?;
    if data.boxes.len() != data.len() {
        return Err(Error::invalid(
            what,
            "every image needs a box (use LocalizationData::new)",
        ));
    }
    if data
        .box_weights
        .as_ref()
        .is_some_and(|w| w.len() != data.len())
    {
        return Err(Error::invalid(
            what,
            "every image needs one box weight (use LocalizationData::with_box_weights)",
        ));
    }
    Ok(())
}

/// Trains a two-headed model ([`crate::layers::Heads`]) on images with one object each:
/// the loss is `weights.class` times the class head's cross-entropy plus `weights.boxes`
/// times the box head's mean squared error, as the book's
///
/// ```python
/// model.compile(loss=["sparse_categorical_crossentropy", "mse"], loss_weights=[0.8, 0.2], optimizer="nadam")
/// model.fit(X_train, (y_train, boxes_train), validation_data=(X_valid, (y_valid, boxes_valid)))
/// ```
///
/// The [`History`] holds `loss`, `accuracy` (of the class head) and their `val_` series in
/// its epochs, and `class_loss`, `box_loss` and `iou` (the mean IoU of the predicted
/// boxes), with `val_` versions, in [`History::metrics`]. Everything else (optimizer,
/// seeds, progress lines, the errors) is as in [`super::fit`].
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::train::{fit_localization, LocalizationData, LossWeights};
/// // A bright 3x3 square in an 8x8 image: its box is the target, its row parity the class.
/// let mut images = ndarray::Array4::<f32>::zeros((32, 8, 8, 1));
/// let (mut labels, mut boxes) = (vec![], vec![]);
/// for i in 0..32 {
///     let (x, y) = (i % 6, (i / 6) % 6);
///     for dy in 0..3 { for dx in 0..3 { images[[i, y + dy, x + dx, 0]] = 1.0; } }
///     labels.push((y % 2) as u8);
///     boxes.push([x as f32 / 8.0, y as f32 / 8.0, (x + 3) as f32 / 8.0, (y + 3) as f32 / 8.0]);
/// }
/// let data = LocalizationData::new(Dataset::new(images, labels)?, boxes)?;
/// type Model = (Conv2D<1, 8, 3, 1, Same, Relu>, Flatten, Heads<Dense<512, 2>, Dense<512, 4>>);
/// let mut model = Cpu::seed_from_u64(0).build_module::<Model, f32>();
/// let cfg = FitConfig { epochs: 2, batch_size: 8, verbose: false, ..FitConfig::default() };
/// let history = fit_localization(&mut model, &data, Some(&data), &cfg, LossWeights::default())?;
/// assert_eq!(history.series("val_iou").len(), 2);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
///
/// # Errors
/// As [`super::fit`]; also when a data set's boxes do not match its images.
pub fn fit_localization<M: Localizer<C, N>, const C: usize, const N: usize>(
    model: &mut M,
    train: &LocalizationData<C>,
    validation: Option<&LocalizationData<C>>,
    cfg: &FitConfig,
    weights: LossWeights,
) -> Result<History> {
    check(model, train, "training data")?;
    if let Some(v) = validation {
        check(model, v, "validation data")?;
    }
    warn_if_not_finite(&train.data, "training");
    let task = epochs::Task {
        n_train: train.len(),
        guess_loss: None,
        step: Box::new(
            |model: &mut M, dev: &Cpu, idx: &[usize], grads, tally: &mut LocTally| {
                tally.weights = Some(weights);
                let x = train.data.batch(dev, idx)?;
                let y = train.data.targets::<N>(dev, idx)?;
                let b = train.box_targets(dev, idx)?;
                let (logits, boxes) =
                    crate::ops::without_input_gradient(|| model.try_forward_mut(x.traced(grads)))?;
                tally.add(
                    N,
                    &logits.with_empty_tape().as_vec(),
                    &boxes.with_empty_tape().as_vec(),
                    idx.iter().map(|&i| train.data.labels[i]),
                    idx.iter().map(|&i| (train.boxes[i], train.box_weight(i))),
                );
                let class_loss =
                    cross_entropy_with_logits_loss(logits, y).try_mul(weights.class)?;
                let box_loss = match train.box_weight_roots(dev, idx)? {
                    None => mse_loss(boxes, b),
                    Some(r) => mse_loss(boxes.try_mul(r.clone())?, b.try_mul(r)?),
                }
                .try_mul(weights.boxes)?;
                let loss: Loss = class_loss.try_add(box_loss)?;
                Ok(loss)
            },
        ),
        validate: Box::new(|model: &M| validation.map(|v| tally_of(model, v, weights)).transpose()),
        fingerprint: Box::new(|f| {
            f.floats([weights.class, weights.boxes]);
            for d in [Some(train), validation] {
                f.optional(d, |f, d| {
                    f.dataset(&d.data);
                    f.floats(d.boxes.iter().flatten().copied());
                    f.optional(d.box_weights.as_ref(), |f, w| f.floats(w.iter().copied()));
                });
            }
        }),
    };
    epochs::run(model, cfg, task)
}

fn tally_of<M: Localizer<C, N>, const C: usize, const N: usize>(
    model: &M,
    data: &LocalizationData<C>,
    weights: LossWeights,
) -> Result<LocTally> {
    let mut tally = LocTally {
        weights: Some(weights),
        ..LocTally::default()
    };
    for_each_batch(model, &data.data, |idx, (logits, boxes)| {
        tally.add(
            N,
            &logits.as_vec(),
            &boxes.as_vec(),
            idx.iter().map(|&i| data.data.labels[i]),
            idx.iter().map(|&i| (data.boxes[i], data.box_weight(i))),
        );
        Ok(())
    })?;
    Ok(tally)
}

/// Loss, accuracy and mean IoU of a localization model, like the book's
/// `model.evaluate(X_test, (y_test, boxes_test))` with the IoU added.
///
/// # Errors
/// A shape error naming the layer, or boxes that do not match the images.
pub fn evaluate_localization<M: Localizer<C, N>, const C: usize, const N: usize>(
    model: &M,
    data: &LocalizationData<C>,
    weights: LossWeights,
) -> Result<LocalizationEvaluation> {
    check(model, data, "evaluation data")?;
    Ok(tally_of(model, data, weights)?.evaluation())
}

/// The predicted class of every image and its box as `(n, 4)` rows `[x_min, y_min, x_max,
/// y_max]` (normalized, as the model learned them), like `model.predict(X)` with the
/// class scores turned into classes.
///
/// # Errors
/// A shape error naming the layer.
pub fn predict_localization<M: Localizer<C, N>, const C: usize, const N: usize>(
    model: &M,
    data: &Dataset<C>,
) -> Result<(Vec<usize>, Array2<f32>)> {
    check_model(model, data, "prediction data")?;
    let (mut classes, mut boxes) = (
        Vec::with_capacity(data.len()),
        Vec::with_capacity(data.len() * 4),
    );
    for_each_batch(model, data, |_, (logits, b)| {
        classes.extend(logits.as_vec().chunks_exact(N).map(argmax));
        boxes.extend(b.as_vec());
        Ok(())
    })?;
    let boxes = Array2::from_shape_vec((data.len(), 4), boxes)
        .map_err(|e| Error::invalid("predicted boxes", e.to_string()))?;
    Ok((classes, boxes))
}
