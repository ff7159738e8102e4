//! Training and evaluation in Keras' style: [`fit`], [`evaluate`], [`predict`],
//! [`predict_classes`], a [`History`] of the epochs, and the [`Nadam`] optimizer.
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! // A toy task: is the bright bar of a 6x6 image vertical (class 0) or horizontal (1)?
//! let data = cnnkit_nn::train::toy_bars(256, 0);
//! type Model = (Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<4, 2>);
//! let mut model = Cpu::seed_from_u64(0).build_module::<Model, f32>();
//! let cfg = FitConfig { epochs: 3, batch_size: 16, verbose: false, ..FitConfig::default() };
//! let history = fit(&mut model, &data, None, &cfg).unwrap();
//! assert_eq!(history.epochs.len(), 3);
//! ```
//!
//! # Resuming after a crash
//!
//! With [`FitConfig::checkpoint_dir`] set, every `fit` of this module ([`fit`],
//! [`fit_localization`], [`fit_segmentation`], [`fit_grid`]) saves its state after each
//! epoch; running the same cell again continues where it stopped:
//!
//! ```
//! use cnnkit_nn::prelude::*;
//! let data = cnnkit_nn::train::toy_bars(64, 0);
//! type Model = (Conv2D<1, 4, 3, 1, Same, Relu>, GlobalAvgPool2D, Dense<4, 2>);
//! let dir = tempfile::tempdir().unwrap();
//! let cfg = FitConfig {
//!     epochs: 2,
//!     batch_size: 16,
//!     verbose: false,
//!     checkpoint_dir: Some(dir.path().to_path_buf()),
//!     ..FitConfig::default()
//! };
//! let mut first = Cpu::seed_from_u64(0).build_module::<Model, f32>();
//! let trained = fit(&mut first, &data, None, &cfg).unwrap();
//! assert_eq!(trained.resumed_epochs, 0);
//! // The same call again: "This training run already finished", nothing is trained.
//! let mut again = Cpu::seed_from_u64(0).build_module::<Model, f32>();
//! let history = fit(&mut again, &data, None, &cfg).unwrap();
//! assert_eq!(history.resumed_epochs, 2);
//! assert_eq!(again.2.weight.as_vec(), first.2.weight.as_vec());
//! ```
//!
//! Introduced in `notebooks/06_fashion_mnist.ipynb`.

mod adam;
mod dataset;
mod epochs;
mod grid;
mod localization;
mod resume;
mod segmentation;

use std::io::Write;
use std::time::Instant;

use dfdx::nn::modules::{Module, ModuleMut};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::nn::tensor_collection::{TensorOptions, ViewTensorMut};
use dfdx::prelude::*;
use ndarray::{Array2, Array4};
use rand::rngs::StdRng;
use rand::SeedableRng;

pub use adam::{Adam, Moments, Nadam};
pub use dataset::Dataset;
pub use grid::{evaluate_grid, fit_grid, GridData, GridDetector, GridEvaluation, TapedGrid};
pub use localization::{
    evaluate_localization, fit_localization, predict_localization, LocalizationData,
    LocalizationEvaluation, Localizer, LocalizerOutput, LossWeights, NormBox,
};
pub use resume::default_checkpoint_dir;
pub use segmentation::{
    evaluate_segmentation, fit_segmentation, predict_masks, SegmentationData,
    SegmentationEvaluation, Segmenter, SegmenterOutput,
};

use crate::error::{Error, Result};
use crate::model::{summary, Describe, FeatureShape};
use crate::ops::Images;
use crate::params::{self, ParamVisitor};

/// Which optimizer [`fit`] uses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum OptimizerKind {
    /// [`Nadam`], as in the lecture (`optimizer="nadam"`).
    Nadam,
    /// dfdx's Adam with Keras' defaults (`optimizer="adam"`).
    Adam,
}

/// Settings of [`fit`]. `FitConfig::default()` is the lecture's: 10 epochs, batch 32,
/// Nadam with learning rate 0.001.
#[derive(Clone, Debug)]
pub struct FitConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Images per gradient step.
    pub batch_size: usize,
    /// Learning rate.
    pub lr: f32,
    /// Optimizer.
    pub optimizer: OptimizerKind,
    /// Seed of the shuffling and of dropout (the model's initial weights come from the
    /// device it was built on: `Cpu::seed_from_u64`).
    pub seed: u64,
    /// Print one line per epoch (Keras' `verbose=2`), and in a terminal a progress bar that
    /// is redrawn in place during the epoch (evcxr forwards output a whole line at a time,
    /// so a notebook shows only the epoch lines).
    pub verbose: bool,
    /// Stop after this many batches per epoch (for quick demos); `None` for all.
    pub max_batches: Option<usize>,
    /// Save the whole training state after every epoch into this folder, and resume from
    /// it: the same call made again (after a panic, an interrupt or a restarted kernel)
    /// continues after the last saved epoch, or returns at once when all epochs were done,
    /// and says so. The result equals an uninterrupted run's. `None` (the default) saves
    /// nothing. See the [`resume`](self#resuming-after-a-crash) section of this module and
    /// [`default_checkpoint_dir`].
    pub checkpoint_dir: Option<std::path::PathBuf>,
}

impl Default for FitConfig {
    fn default() -> Self {
        FitConfig {
            epochs: 10,
            batch_size: 32,
            lr: 0.001,
            optimizer: OptimizerKind::Nadam,
            seed: 42,
            verbose: true,
            max_batches: None,
            checkpoint_dir: None,
        }
    }
}

/// Loss and accuracy after one epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EpochStats {
    /// Mean training loss over the epoch's batches (dropout active, like Keras).
    pub loss: f32,
    /// Training accuracy over the epoch.
    pub accuracy: f32,
    /// Validation loss at the end of the epoch, when validation data was given.
    pub val_loss: Option<f32>,
    /// Validation accuracy at the end of the epoch.
    pub val_accuracy: Option<f32>,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
}

/// What [`fit`] returns, like Keras' `History`: one [`EpochStats`] per epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epochs in order.
    pub epochs: Vec<EpochStats>,
    /// Further figures per epoch, by Keras' history key: a task with several outputs
    /// reports each loss and metric (`class_loss`, `box_loss`, `iou`, `val_iou`, ...,
    /// see [`fit_localization`]); empty for [`fit`].
    pub metrics: std::collections::BTreeMap<String, Vec<f32>>,
    /// How many of [`History::epochs`] were read from a checkpoint rather than trained by
    /// this call (see [`FitConfig::checkpoint_dir`]); 0 for a run from the start.
    pub resumed_epochs: usize,
}

impl History {
    /// A named series, as in Keras' `history.history["val_loss"]`: `loss`, `accuracy`,
    /// `val_loss`, `val_accuracy`, or a key of [`History::metrics`] (empty for an unknown
    /// name or missing validation).
    pub fn series(&self, name: &str) -> Vec<f32> {
        if let Some(values) = self.metrics.get(name) {
            return values.clone();
        }
        self.epochs
            .iter()
            .filter_map(|e| match name {
                "loss" => Some(e.loss),
                "accuracy" => Some(e.accuracy),
                "val_loss" => e.val_loss,
                "val_accuracy" => e.val_accuracy,
                _ => None,
            })
            .collect()
    }

    /// Total training time in seconds.
    pub fn seconds(&self) -> f64 {
        self.epochs.iter().map(|e| e.seconds).sum()
    }
}

/// Loss and accuracy of a model on a data set, from [`evaluate`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f32,
    /// Fraction of images whose most probable class is the label.
    pub accuracy: f32,
}

/// Images per forward pass in [`evaluate`] and [`predict`].
pub(crate) const PREDICT_BATCH: usize = 256;

/// The bound a model needs to be trained on `C`-channel images with `N` classes: a
/// forward pass with and without a gradient tape, parameters, and a [`Describe`] for the
/// shape check.
pub trait Classifier<const C: usize, const N: usize>:
    Describe
    + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
    + ModuleMut<
        Images<C, OwnedTape<f32, Cpu>>,
        Output = Tensor<(usize, Const<N>), f32, Cpu, OwnedTape<f32, Cpu>>,
        Error = CpuError,
    > + Module<Images<C>, Output = Tensor<(usize, Const<N>), f32, Cpu>, Error = CpuError>
{
}

impl<M, const C: usize, const N: usize> Classifier<C, N> for M where
    M: Describe
        + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
        + ModuleMut<
            Images<C, OwnedTape<f32, Cpu>>,
            Output = Tensor<(usize, Const<N>), f32, Cpu, OwnedTape<f32, Cpu>>,
            Error = CpuError,
        > + Module<Images<C>, Output = Tensor<(usize, Const<N>), f32, Cpu>, Error = CpuError>
{
}

/// Replaces every parameter tensor by a copy with a new id (values and other settings
/// unchanged), see [`fit`].
fn renew_tensor_ids<M: TensorCollection<f32, Cpu>>(model: &mut M, dev: &Cpu) -> Result<()> {
    struct Renew<'a>(&'a Cpu);
    impl ParamVisitor for Renew<'_> {
        type Viewer = ViewTensorMut;
        fn tensor<S: Shape>(
            &mut self,
            _: TensorOptions<S, f32, Cpu>,
            t: &mut Tensor<S, f32, Cpu>,
        ) -> std::result::Result<(), CpuError> {
            *t = self.0.try_tensor_from_vec(t.as_vec(), *t.shape())?;
            Ok(())
        }
    }
    params::visit_mut(model, &mut Renew(dev))?;
    Ok(())
}

/// Checks the model against the data's image size before any work is done.
fn check_model<M: Describe, const C: usize>(
    model: &M,
    data: &Dataset<C>,
    what: &str,
) -> Result<()> {
    if data.is_empty() {
        return Err(Error::invalid(what, "it contains no images"));
    }
    let (h, w) = data.image_size();
    summary(model, FeatureShape::image(h, w, C))?;
    Ok(())
}

/// Cross-entropy and correct predictions of a batch of logits against labels.
fn batch_metrics(
    logits: &[f32],
    n_classes: usize,
    labels: impl Iterator<Item = u8>,
) -> (f64, usize) {
    let mut loss = 0.0f64;
    let mut correct = 0;
    for (row, label) in logits.chunks_exact(n_classes).zip(labels) {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let sum: f32 = row.iter().map(|v| (v - max).exp()).sum();
        loss += (max + sum.ln() - row[label as usize]) as f64;
        let arg = argmax(row);
        if arg == label as usize {
            correct += 1;
        }
    }
    (loss, correct)
}

fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in row.iter().enumerate() {
        if *v > row[best] {
            best = i;
        }
    }
    best
}

/// Trains `model` on `train` for `cfg.epochs` epochs of shuffled mini-batches, like
/// Keras' `model.fit(X_train, y_train, epochs=..., validation_data=(X_valid, y_valid))`.
///
/// The model outputs logits; the loss is softmax cross-entropy (Keras'
/// `sparse_categorical_crossentropy` on a softmax output). Dropout is active only here.
/// With the same seeds, two runs give identical weights.
///
/// # Errors
/// A shape error naming the layer when the model does not fit the images (checked before
/// training), a label outside the model's classes, an empty data set, `max_batches:
/// Some(0)`, or [`Error::Training`] when the loss becomes NaN or infinite (training stops
/// there, with advice). Images with NaN or infinite values and an epoch loss far above
/// that of guessing (a diverging run) are reported as warnings on standard error.
pub fn fit<M: Classifier<C, N>, const C: usize, const N: usize>(
    model: &mut M,
    train: &Dataset<C>,
    validation: Option<&Dataset<C>>,
    cfg: &FitConfig,
) -> Result<History> {
    check_model(model, train, "training data")?;
    if let Some(v) = validation {
        check_model(model, v, "validation data")?;
    }
    warn_if_not_finite(train, "training");
    if let Some(v) = validation {
        warn_if_not_finite(v, "validation");
    }
    if train.labels.len() != train.len() {
        return Err(Error::invalid("training data", "every image needs a label"));
    }
    let task = epochs::Task {
        n_train: train.len(),
        guess_loss: Some((N.max(2) as f32).ln()),
        step: Box::new(
            |model: &mut M, dev: &Cpu, idx: &[usize], grads, tally: &mut ClassTally| {
                let x = train.batch(dev, idx)?;
                let y = train.targets::<N>(dev, idx)?;
                let logits =
                    crate::ops::without_input_gradient(|| model.try_forward_mut(x.traced(grads)))?;
                let (l, c) = batch_metrics(
                    &logits.with_empty_tape().as_vec(),
                    N,
                    idx.iter().map(|&i| train.labels[i]),
                );
                tally.add(l, c, idx.len());
                Ok(cross_entropy_with_logits_loss(logits, y))
            },
        ),
        validate: Box::new(|model: &M| {
            validation
                .map(|v| evaluate(model, v).map(|e| ClassTally::of(&e, v.len())))
                .transpose()
        }),
        fingerprint: Box::new(|f| {
            f.dataset(train);
            f.optional(validation, |f, v| f.dataset(v));
        }),
    };
    epochs::run(model, cfg, task)
}

/// Cross-entropy sum, correct predictions and examples seen, for [`fit`]'s progress lines.
#[derive(Default)]
struct ClassTally {
    loss_sum: f64,
    correct: usize,
    seen: usize,
}

impl ClassTally {
    fn add(&mut self, loss_sum: f64, correct: usize, n: usize) {
        self.loss_sum += loss_sum;
        self.correct += correct;
        self.seen += n;
    }

    /// The tally of a finished evaluation (validation after each epoch).
    fn of(e: &Evaluation, n: usize) -> Self {
        ClassTally {
            loss_sum: e.loss as f64 * n as f64,
            correct: (e.accuracy as f64 * n as f64).round() as usize,
            seen: n,
        }
    }
}

impl epochs::Tally for ClassTally {
    fn loss(&self) -> f64 {
        self.loss_sum / self.seen.max(1) as f64
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.seen.max(1) as f64
    }
}

/// Warns (on standard error) when images hold NaN or infinite values: training on them
/// turns every weight into NaN after the first step that sees one.
fn warn_if_not_finite<const C: usize>(data: &Dataset<C>, what: &str) {
    let bad = data.images.iter().filter(|v| !v.is_finite()).count();
    if bad > 0 {
        let first = data
            .images
            .outer_iter()
            .position(|img| img.iter().any(|v| !v.is_finite()))
            .unwrap_or(0);
        eprintln!(
            "warning: the {what} images hold {bad} NaN or infinite values (the first in image \
             {first}); the loss will become NaN. Replace them (for example with 0) before \
             training. / 경고: {what} 이미지에 NaN이나 무한대 값이 {bad}개 있습니다."
        );
    }
}

/// Keras' progress bar, redrawn in place (`\r`, no newline): `120/1719 [=>....] - ETA: 38s
/// - loss: 0.6120 - accuracy: 0.7760`. Only used when standard output is a terminal.
fn progress_line(step: usize, steps: usize, start: Instant, loss: f64, acc: f64) {
    let width = 30;
    let done = step * width / steps;
    let elapsed = start.elapsed().as_secs_f64();
    let eta = elapsed / step as f64 * (steps - step) as f64;
    print!(
        "\r{step:>w$}/{steps} [{}>{}] - ETA: {eta:.0}s - loss: {loss:.4} - accuracy: {acc:.4}",
        "=".repeat(done.saturating_sub(1)),
        ".".repeat(width - done.max(1)),
        w = steps.to_string().len()
    );
    let _ = std::io::stdout().flush();
}

/// One Keras-style epoch line: `Epoch 3/10 - 1719 steps - 42s - loss: 0.4100 - ...`.
fn epoch_line(epoch: usize, epochs: usize, steps: usize, s: &EpochStats) -> String {
    let mut line = format!(
        "Epoch {epoch}/{epochs} - {steps} steps - {:.0}s - loss: {:.4} - accuracy: {:.4}",
        s.seconds, s.loss, s.accuracy
    );
    if let (Some(l), Some(a)) = (s.val_loss, s.val_accuracy) {
        line.push_str(&format!(" - val_loss: {l:.4} - val_accuracy: {a:.4}"));
    }
    line
}

/// Runs the model without a tape over `data` in batches of [`PREDICT_BATCH`] and hands
/// each batch's image indices and output to `f`: what every `evaluate` and `predict` of
/// this module (classification, localization, segmentation) is built on.
fn for_each_batch<M: Module<Images<C>, Error = CpuError>, const C: usize>(
    model: &M,
    data: &Dataset<C>,
    mut f: impl FnMut(&[usize], M::Output) -> Result<()>,
) -> Result<()> {
    let dev = Cpu::default();
    let all: Vec<usize> = (0..data.len()).collect();
    for idx in all.chunks(PREDICT_BATCH) {
        f(idx, model.try_forward(data.batch(&dev, idx)?)?)?;
    }
    Ok(())
}

/// Loss and accuracy on a labelled data set, like Keras' `model.evaluate(X_test, y_test)`.
///
/// # Errors
/// A shape error naming the layer, or missing labels.
pub fn evaluate<M: Classifier<C, N>, const C: usize, const N: usize>(
    model: &M,
    data: &Dataset<C>,
) -> Result<Evaluation> {
    check_model(model, data, "evaluation data")?;
    if data.labels.len() != data.len() {
        return Err(Error::invalid(
            "evaluation data",
            "every image needs a label",
        ));
    }
    let (mut loss, mut correct) = (0.0f64, 0usize);
    for_each_batch(model, data, |idx, logits| {
        let (l, c) = batch_metrics(&logits.as_vec(), N, idx.iter().map(|&i| data.labels[i]));
        loss += l;
        correct += c;
        Ok(())
    })?;
    Ok(Evaluation {
        loss: (loss / data.len() as f64) as f32,
        accuracy: correct as f32 / data.len() as f32,
    })
}

/// Class probabilities, `(n, N)`, like Keras' `model.predict(X)` on a softmax output.
///
/// # Errors
/// A shape error naming the layer.
pub fn predict<M: Classifier<C, N>, const C: usize, const N: usize>(
    model: &M,
    data: &Dataset<C>,
) -> Result<Array2<f32>> {
    check_model(model, data, "prediction data")?;
    let mut out = Array2::<f32>::zeros((data.len(), N));
    for_each_batch(model, data, |idx, logits| {
        for (&row, logit) in idx.iter().zip(logits.as_vec().chunks_exact(N)) {
            let max = logit.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = logit.iter().map(|v| (v - max).exp()).collect();
            let sum: f32 = exp.iter().sum();
            for (j, e) in exp.iter().enumerate() {
                out[[row, j]] = e / sum;
            }
        }
        Ok(())
    })?;
    Ok(out)
}

/// The most probable class of each image, like `model.predict(X).argmax(axis=1)`.
///
/// # Errors
/// A shape error naming the layer.
pub fn predict_classes<M: Classifier<C, N>, const C: usize, const N: usize>(
    model: &M,
    data: &Dataset<C>,
) -> Result<Vec<usize>> {
    let mut out = Vec::with_capacity(data.len());
    check_model(model, data, "prediction data")?;
    for_each_batch(model, data, |_, logits| {
        out.extend(logits.as_vec().chunks_exact(N).map(argmax));
        Ok(())
    })?;
    Ok(out)
}

/// A synthetic data set for tests and demos: 6x6 images with one bright bar, vertical
/// (label 0) or horizontal (label 1), at a random place, plus noise.
pub fn toy_bars(n: usize, seed: u64) -> Dataset<1> {
    use rand::Rng;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut images = Array4::<f32>::zeros((n, 6, 6, 1));
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = rng.gen_range(0..2u8);
        let pos = rng.gen_range(0..6);
        for y in 0..6 {
            for x in 0..6 {
                let on = if label == 0 { x == pos } else { y == pos };
                images[[i, y, x, 0]] = if on { 1.0 } else { 0.0 } + rng.gen_range(0.0..0.3);
            }
        }
        labels.push(label);
    }
    Dataset { images, labels }
}
