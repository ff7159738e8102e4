//! Semantic segmentation (the book's chapter 14): a class for every pixel. The model
//! outputs `(batch, h, w, K)` logits, one score per class and pixel (a fully convolutional
//! network: convolutions down, [`crate::layers::Conv2DTranspose`] or
//! [`crate::layers::UpSampling2D`] up), trained on the cross-entropy averaged over pixels.
//!
//! | here | Keras |
//! |---|---|
//! | [`fit_segmentation`] | `model.compile(loss="sparse_categorical_crossentropy")` on a `(h, w, K)` softmax output, then `model.fit(X, masks)` |
//! | [`evaluate_segmentation`] | `model.evaluate` plus `keras.metrics.MeanIoU(num_classes=K)` |
//! | [`predict_masks`] | `model.predict(X).argmax(axis=-1)` |

use dfdx::nn::modules::{Module, ModuleMut};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use ndarray::{Array2, Array3};

use super::epochs::{self, Tally};
use super::{argmax, check_model, for_each_batch, warn_if_not_finite, Dataset, FitConfig, History};
use crate::error::{Error, Result};
use crate::metrics;
use crate::model::{summary, Describe, FeatureShape};
use crate::ops::Images;

/// Images and, for every pixel, its class: `masks[[i, y, x]]` for image `i` (0 is
/// usually the background).
#[derive(Clone, Debug)]
pub struct SegmentationData<const C: usize> {
    /// The images (their labels, if any, are not used).
    pub data: Dataset<C>,
    /// `(n, h, w)` class indices, the images' size.
    pub masks: Array3<u8>,
}

impl<const C: usize> SegmentationData<C> {
    /// Pairs images with their masks, checking that the sizes agree.
    ///
    /// # Errors
    /// [`Error::Invalid`] when the masks' `(n, h, w)` differs from the images'.
    pub fn new(data: Dataset<C>, masks: Array3<u8>) -> Result<Self> {
        let (n, h, w, _) = data.images.dim();
        if masks.dim() != (n, h, w) {
            return Err(Error::invalid(
                "masks",
                format!(
                    "they are {:?} but the images are {n} of {h}x{w}: give one mask per image, \
                     of the image's height and width",
                    masks.dim()
                ),
            ));
        }
        Ok(SegmentationData {
            data,
            masks: masks.as_standard_layout().into_owned(),
        })
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    fn pixels<'a>(&'a self, idx: &'a [usize]) -> impl Iterator<Item = u8> + 'a {
        let (_, h, w) = self.masks.dim();
        let all = self.masks.as_slice().unwrap_or(&[]);
        idx.iter()
            .flat_map(move |&i| all[i * h * w..(i + 1) * h * w].iter().copied())
    }

    /// One-hot targets of the pixels of `idx`, `(pixels, K)`.
    fn targets<const K: usize>(
        &self,
        dev: &Cpu,
        idx: &[usize],
    ) -> Result<Tensor<(usize, Const<K>), f32, Cpu>> {
        let (_, h, w) = self.masks.dim();
        let n = idx.len() * h * w;
        let mut buf = vec![0.0f32; n * K];
        for (p, class) in self.pixels(idx).enumerate() {
            if class as usize >= K {
                return Err(Error::invalid(
                    "masks",
                    format!(
                        "a pixel of class {class}, but the model has only {K} outputs per pixel"
                    ),
                ));
            }
            buf[p * K + class as usize] = 1.0;
        }
        Ok(dev.try_tensor_from_vec(buf, (n, Const::<K>))?)
    }
}

/// Per-pixel logits `(batch, h, w, K)`.
pub type SegmenterOutput<const K: usize, T = NoneTape> =
    Tensor<(usize, usize, usize, Const<K>), f32, Cpu, T>;

/// The bound of a model for [`fit_segmentation`]: `C`-channel images in, [`SegmenterOutput`] out.
pub trait Segmenter<const C: usize, const K: usize>:
    Describe
    + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
    + ModuleMut<
        Images<C, OwnedTape<f32, Cpu>>,
        Output = SegmenterOutput<K, OwnedTape<f32, Cpu>>,
        Error = CpuError,
    > + Module<Images<C>, Output = SegmenterOutput<K>, Error = CpuError>
{
}

impl<M, const C: usize, const K: usize> Segmenter<C, K> for M where
    M: Describe
        + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
        + ModuleMut<
            Images<C, OwnedTape<f32, Cpu>>,
            Output = SegmenterOutput<K, OwnedTape<f32, Cpu>>,
            Error = CpuError,
        > + Module<Images<C>, Output = SegmenterOutput<K>, Error = CpuError>
{
}

/// How well a segmentation model labels the pixels of a data set.
#[derive(Clone, Debug, PartialEq)]
pub struct SegmentationEvaluation {
    /// Mean cross-entropy over all pixels.
    pub loss: f32,
    /// Fraction of pixels whose most probable class is the true one.
    pub pixel_accuracy: f32,
    /// Mean of [`SegmentationEvaluation::class_iou`] over the classes that occur (in the
    /// truth or the prediction); classes that occur in neither are left out, as in
    /// Keras' `MeanIoU`.
    pub mean_iou: f32,
    /// For each class, `TP / (TP + FP + FN)` over all pixels; NaN for a class that occurs
    /// in neither the truth nor the prediction.
    pub class_iou: Vec<f32>,
}

/// Loss sum and the pixel confusion matrix (`cm[[truth, predicted]]`, as
/// [`crate::metrics::pixel_confusion_matrix`] counts it).
#[derive(Default)]
struct SegTally {
    loss_sum: f64,
    pixels: usize,
    confusion: Array2<usize>,
}

impl SegTally {
    fn add(&mut self, k: usize, logits: &[f32], truth: impl Iterator<Item = u8>) {
        if self.confusion.is_empty() {
            self.confusion = Array2::zeros((k, k));
        }
        for (row, t) in logits.chunks_exact(k).zip(truth) {
            let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
            self.loss_sum += (max + sum.ln() - row[t as usize]) as f64;
            self.confusion[[t as usize, argmax(row)]] += 1;
            self.pixels += 1;
        }
    }
}

impl Tally for SegTally {
    fn loss(&self) -> f64 {
        self.loss_sum / self.pixels.max(1) as f64
    }

    fn accuracy(&self) -> f64 {
        self.confusion.diag().sum() as f64 / self.pixels.max(1) as f64
    }

    fn extra(&self) -> Vec<(&'static str, f32)> {
        vec![("mean_iou", metrics::mean_iou(&self.confusion))]
    }
}

fn check<M: Describe, const C: usize, const K: usize>(
    model: &M,
    data: &SegmentationData<C>,
    what: &str,
) -> Result<()> {
    check_model(model, &data.data, what)?;
    let (h, w) = data.data.image_size();
    let out = summary(model, FeatureShape::image(h, w, C))?.output();
    if out != FeatureShape::image(h, w, K) {
        return Err(Error::Shape {
            layer: "the model's output".into(),
            expected: format!(
                "{}: one score per class and pixel of the {h}x{w} masks",
                FeatureShape::image(h, w, K)
            ),
            actual: format!(
                "{out}; upsample back to the input size (Conv2DTranspose, UpSampling2D)"
            ),
        });
    }
    Ok(())
}

/// Trains a model that labels every pixel, on the mean of the pixels' cross-entropies
/// (Keras' `sparse_categorical_crossentropy` on a `(h, w, K)` output). The epochs'
/// `accuracy` is the pixel accuracy; [`History::metrics`] holds `mean_iou` (and
/// `val_mean_iou`). Everything else is as in [`super::fit`].
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::train::{fit_segmentation, SegmentationData};
/// // Pixels above 0.5 are class 1, the rest class 0.
/// let images = ndarray::Array4::from_shape_fn((16, 6, 6, 1), |(i, y, x, _)| ((i + y * x) % 3) as f32 / 2.0);
/// let masks = images.map_axis(ndarray::Axis(3), |v| (v[0] > 0.5) as u8);
/// let data = SegmentationData::new(Dataset::unlabeled(images)?, masks)?;
/// type Model = (Conv2D<1, 4, 3, 1, Same, Relu>, Conv2D<4, 2, 1>);
/// let mut model = Cpu::seed_from_u64(0).build_module::<Model, f32>();
/// let cfg = FitConfig { epochs: 2, batch_size: 4, verbose: false, ..FitConfig::default() };
/// let history = fit_segmentation(&mut model, &data, None, &cfg)?;
/// assert_eq!(history.series("mean_iou").len(), 2);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
///
/// # Errors
/// As [`super::fit`]; also when the model's output is not `(h, w, K)` for `h x w` masks,
/// or a mask holds a class the model has no output for.
pub fn fit_segmentation<M: Segmenter<C, K>, const C: usize, const K: usize>(
    model: &mut M,
    train: &SegmentationData<C>,
    validation: Option<&SegmentationData<C>>,
    cfg: &FitConfig,
) -> Result<History> {
    check::<M, C, K>(model, train, "training data")?;
    if let Some(v) = validation {
        check::<M, C, K>(model, v, "validation data")?;
    }
    warn_if_not_finite(&train.data, "training");
    let task = epochs::Task {
        n_train: train.len(),
        guess_loss: Some((K.max(2) as f32).ln()),
        step: Box::new(
            |model: &mut M, dev: &Cpu, idx: &[usize], grads, tally: &mut SegTally| {
                let x = train.data.batch(dev, idx)?;
                let y = train.targets::<K>(dev, idx)?;
                let logits =
                    crate::ops::without_input_gradient(|| model.try_forward_mut(x.traced(grads)))?;
                tally.add(K, &logits.with_empty_tape().as_vec(), train.pixels(idx));
                let (b, h, w, _) = *logits.shape();
                let rows = logits.try_reshape_like(&(b * h * w, Const::<K>))?;
                Ok(cross_entropy_with_logits_loss(rows, y))
            },
        ),
        validate: Box::new(|model: &M| {
            validation
                .map(|v| tally_of::<M, C, K>(model, v))
                .transpose()
        }),
        fingerprint: Box::new(|f| {
            for d in [Some(train), validation] {
                f.optional(d, |f, d| {
                    f.dataset(&d.data);
                    f.bytes(&d.masks.iter().copied().collect::<Vec<u8>>());
                });
            }
        }),
    };
    epochs::run(model, cfg, task)
}

fn tally_of<M: Segmenter<C, K>, const C: usize, const K: usize>(
    model: &M,
    data: &SegmentationData<C>,
) -> Result<SegTally> {
    let mut tally = SegTally::default();
    for_each_batch(model, &data.data, |idx, logits| {
        if let Some(bad) = data.pixels(idx).find(|&c| c as usize >= K) {
            return Err(Error::invalid(
                "masks",
                format!("a pixel of class {bad}, but the model has only {K} outputs per pixel"),
            ));
        }
        tally.add(K, &logits.as_vec(), data.pixels(idx));
        Ok(())
    })?;
    Ok(tally)
}

/// Loss, pixel accuracy and IoU per class of a segmentation model.
///
/// # Errors
/// A shape error naming the layer, or a mask class without an output.
pub fn evaluate_segmentation<M: Segmenter<C, K>, const C: usize, const K: usize>(
    model: &M,
    data: &SegmentationData<C>,
) -> Result<SegmentationEvaluation> {
    check::<M, C, K>(model, data, "evaluation data")?;
    let t = tally_of::<M, C, K>(model, data)?;
    Ok(SegmentationEvaluation {
        loss: t.loss() as f32,
        pixel_accuracy: t.accuracy() as f32,
        mean_iou: metrics::mean_iou(&t.confusion),
        class_iou: metrics::class_iou(&t.confusion),
    })
}

/// The most probable class of every pixel, `(n, h, w)`, like
/// `model.predict(X).argmax(axis=-1)`.
///
/// # Errors
/// A shape error naming the layer.
pub fn predict_masks<M: Segmenter<C, K>, const C: usize, const K: usize>(
    model: &M,
    data: &Dataset<C>,
) -> Result<Array3<u8>> {
    check_model(model, data, "prediction data")?;
    let (n, h, w, _) = data.images.dim();
    let mut out = Vec::with_capacity(n * h * w);
    for_each_batch(model, data, |_, logits| {
        out.extend(logits.as_vec().chunks_exact(K).map(|row| argmax(row) as u8));
        Ok(())
    })?;
    if out.len() != n * h * w {
        return Err(Error::invalid(
            "the model's output",
            format!(
                "{} pixels for {n} images of {h}x{w}: the output must have the input's size",
                out.len()
            ),
        ));
    }
    Array3::from_shape_vec((n, h, w), out)
        .map_err(|e| Error::invalid("predicted masks", e.to_string()))
}
