//! Grid detection trained on whole images, YOLO's way: a fully convolutional model gives
//! every cell of a grid class scores and a box, and the loss is taken over the grid.
//!
//! The targets come from [`crate::detection::windows::grid_targets`]: a cell responsible
//! for an object (YOLO's rule: the object's centre lies near the cell's window centre)
//! learns its class and box; a background cell learns the background class and no box;
//! cells in between count for nothing (weight 0). The model is the same kind as the one
//! [`crate::layers::DenseModule::to_conv2d`] makes from a window classifier, here trained
//! from the start on the canvases instead of on cropped windows.
//!
//! | here | YOLO (Redmon et al., 2015) |
//! |---|---|
//! | the background class of a cell | the cell's objectness score |
//! | box weight 1 only in responsible cells | coordinate loss only where an object is |
//! | [`LossWeights`] for class and box | `λ_coord`, `λ_noobj` |
//!
//! One box per cell, no anchor boxes: the canvases' objects all have one size.

use dfdx::nn::modules::{Module, ModuleMut};
use dfdx::nn::tensor_collection::TensorCollection;
use dfdx::prelude::*;
use ndarray::{Array3, Array4};

use super::epochs::{self, Loss, Tally};
use super::{check_model, for_each_batch, warn_if_not_finite, Dataset, FitConfig, History};
use super::{LossWeights, NormBox};
use crate::detection::windows::FcnOutput;
use crate::error::{Error, Result};
use crate::model::Describe;
use crate::ops::Images;

/// Images and the targets of every grid cell: class and box, each with a weight.
#[derive(Clone, Debug)]
pub struct GridData<const C: usize> {
    /// The images (no labels needed).
    pub data: Dataset<C>,
    /// The class of every cell, `(n, rows, cols)`.
    pub classes: Array3<u8>,
    /// How much each cell's class counts, `(n, rows, cols)`; 0 leaves a cell out.
    pub class_weights: Array3<f32>,
    /// The box of every cell, `(n, rows, cols, 4)`, [`NormBox`] in the cell's window.
    pub boxes: Array4<f32>,
    /// How much each cell's box counts, `(n, rows, cols)`; 0 where there is no object.
    pub box_weights: Array3<f32>,
}

impl<const C: usize> GridData<C> {
    /// Checks that the grids have one size and the weights are finite and at least 0.
    ///
    /// # Errors
    /// [`Error::Invalid`] saying which array does not fit.
    pub fn new(
        data: Dataset<C>,
        classes: Array3<u8>,
        class_weights: Array3<f32>,
        boxes: Array4<f32>,
        box_weights: Array3<f32>,
    ) -> Result<Self> {
        let (n, rows, cols) = classes.dim();
        let bad = if n != data.len() {
            Some(format!("{} images but {n} class grids", data.len()))
        } else if class_weights.dim() != (n, rows, cols) || box_weights.dim() != (n, rows, cols) {
            Some(format!(
                "class grids {:?}, class weights {:?}, box weights {:?}: all (n, rows, cols)",
                classes.dim(),
                class_weights.dim(),
                box_weights.dim()
            ))
        } else if boxes.dim() != (n, rows, cols, 4) {
            Some(format!(
                "boxes {:?}, expected {:?}",
                boxes.dim(),
                (n, rows, cols, 4)
            ))
        } else if class_weights
            .iter()
            .chain(box_weights.iter())
            .any(|w| !w.is_finite() || *w < 0.0)
        {
            Some("a weight is negative or not finite; weights are at least 0".to_string())
        } else {
            None
        };
        match bad {
            Some(why) => Err(Error::invalid("grid data", why)),
            None => Ok(GridData {
                data,
                classes: classes.as_standard_layout().into_owned(),
                class_weights: class_weights.as_standard_layout().into_owned(),
                boxes: boxes.as_standard_layout().into_owned(),
                box_weights: box_weights.as_standard_layout().into_owned(),
            }),
        }
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Rows and columns of the grid.
    pub fn grid(&self) -> (usize, usize) {
        let (_, r, c) = self.classes.dim();
        (r, c)
    }

    /// The cells of images `idx`, in order: (class, class weight, box, box weight).
    fn cells<'a>(&'a self, idx: &'a [usize]) -> impl Iterator<Item = Cell> + 'a {
        let (rows, cols) = self.grid();
        idx.iter().flat_map(move |&i| {
            (0..rows * cols).map(move |k| {
                let (r, c) = (k / cols, k % cols);
                let b = self.boxes.slice(ndarray::s![i, r, c, ..]);
                Cell {
                    class: self.classes[[i, r, c]],
                    class_weight: self.class_weights[[i, r, c]],
                    bbox: [b[0], b[1], b[2], b[3]],
                    box_weight: self.box_weights[[i, r, c]],
                }
            })
        })
    }
}

#[derive(Clone, Copy)]
struct Cell {
    class: u8,
    class_weight: f32,
    bbox: NormBox,
    box_weight: f32,
}

/// The bound of a model for [`fit_grid`]: `C`-channel images in, a grid of `K` class
/// logits and 4 box values per cell out ([`FcnOutput`]).
pub trait GridDetector<const C: usize, const K: usize>:
    Describe
    + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
    + ModuleMut<Images<C, OwnedTape<f32, Cpu>>, Output = TapedGrid<K>, Error = CpuError>
    + Module<Images<C>, Output = FcnOutput<K>, Error = CpuError>
{
}

impl<M, const C: usize, const K: usize> GridDetector<C, K> for M where
    M: Describe
        + TensorCollection<f32, Cpu, To<f32, Cpu> = Self>
        + ModuleMut<Images<C, OwnedTape<f32, Cpu>>, Output = TapedGrid<K>, Error = CpuError>
        + Module<Images<C>, Output = FcnOutput<K>, Error = CpuError>
{
}

/// [`FcnOutput`] on a tape, as in training.
pub type TapedGrid<const K: usize> = (
    Tensor<(usize, usize, usize, Const<K>), f32, Cpu, OwnedTape<f32, Cpu>>,
    Tensor<(usize, usize, usize, Const<4>), f32, Cpu, OwnedTape<f32, Cpu>>,
);

/// Loss, cell accuracy and box quality of a grid detector on a data set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GridEvaluation {
    /// `class` weight times the class loss plus `boxes` weight times the box loss.
    pub loss: f32,
    /// Cross-entropy averaged over the cells that count (weighted).
    pub class_loss: f32,
    /// Squared error of the box coordinates averaged over the cells with a box (weighted).
    pub box_loss: f32,
    /// Share of the counted cells whose most probable class is right.
    pub accuracy: f32,
    /// Mean IoU of the predicted and true boxes over the cells with a box.
    pub mean_iou: f32,
}

#[derive(Default)]
struct GridTally {
    class_loss: f64,
    class_weight: f64,
    correct: usize,
    counted: usize,
    box_loss: f64,
    box_weight: f64,
    iou: f64,
    boxed: usize,
    weights: Option<LossWeights>,
}

impl GridTally {
    fn add(&mut self, k: usize, logits: &[f32], boxes: &[f32], cells: impl Iterator<Item = Cell>) {
        for ((z, p), cell) in logits.chunks_exact(k).zip(boxes.chunks_exact(4)).zip(cells) {
            if cell.class_weight > 0.0 {
                let top = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let total: f32 = z.iter().map(|v| (v - top).exp()).sum();
                let t = cell.class as usize;
                self.class_loss += (cell.class_weight * (top + total.ln() - z[t])) as f64;
                self.class_weight += cell.class_weight as f64;
                self.correct += usize::from(super::argmax(z) == t);
                self.counted += 1;
            }
            if cell.box_weight > 0.0 {
                let (mse, iou) = super::localization::box_error(p, &cell.bbox);
                self.box_loss += cell.box_weight as f64 * mse;
                self.box_weight += cell.box_weight as f64;
                self.iou += iou;
                self.boxed += 1;
            }
        }
    }

    fn evaluation(&self) -> GridEvaluation {
        let e = self.extra();
        GridEvaluation {
            loss: self.loss() as f32,
            class_loss: e[0].1,
            box_loss: e[1].1,
            accuracy: self.accuracy() as f32,
            mean_iou: e[2].1,
        }
    }
}

impl Tally for GridTally {
    fn loss(&self) -> f64 {
        let w = self.weights.unwrap_or_default();
        let e = self.extra();
        w.class as f64 * e[0].1 as f64 + w.boxes as f64 * e[1].1 as f64
    }

    fn accuracy(&self) -> f64 {
        self.correct as f64 / self.counted.max(1) as f64
    }

    fn extra(&self) -> Vec<(&'static str, f32)> {
        vec![
            (
                "class_loss",
                (self.class_loss / self.class_weight.max(1e-12)) as f32,
            ),
            (
                "box_loss",
                (self.box_loss / self.box_weight.max(1e-12)) as f32,
            ),
            ("iou", (self.iou / self.boxed.max(1) as f64) as f32),
        ]
    }
}

/// Checks the data against the model's output grid.
fn check<M: GridDetector<C, K>, const C: usize, const K: usize>(
    model: &M,
    data: &GridData<C>,
    what: &str,
) -> Result<()> {
    check_model(model, &data.data, what)?;
    if let Some(bad) = data.classes.iter().find(|&&c| c as usize >= K) {
        return Err(Error::invalid(
            what,
            format!("a cell of class {bad}, but the model has only {K} class outputs per cell"),
        ));
    }
    let first = model.try_forward(data.data.batch(&Cpu::default(), &[0])?)?;
    let (rows, cols) = (first.0.shape().1, first.0.shape().2);
    if (rows, cols) != data.grid() {
        return Err(Error::Shape {
            layer: "the model's output grid".into(),
            expected: format!("{:?}, the targets' rows and columns", data.grid()),
            actual: format!(
                "{:?}; make the targets with the grid of the model's window and total stride",
                (rows, cols)
            ),
        });
    }
    Ok(())
}

/// The sum of the weights in a batch, or 1 when it is 0 (a batch with nothing to learn
/// then adds nothing instead of dividing by zero).
fn weight_sum(weights: impl Iterator<Item = f32>) -> f32 {
    let s: f32 = weights.sum();
    if s > 0.0 {
        s
    } else {
        1.0
    }
}

/// Trains a grid detector on whole images: the loss is `weights.class` times the
/// cross-entropy of the cells' classes, averaged over the counted cells with their
/// class weights, plus `weights.boxes` times the squared error of the boxes, averaged
/// over the cells with a box. History: `loss`, `accuracy` (of the counted cells) and,
/// in [`History::metrics`], `class_loss`, `box_loss` and `iou`, each with its `val_`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::train::{fit_grid, GridData, LossWeights};
/// use ndarray::{Array3, Array4};
/// // 8x8 images, a 2x2 grid (two valid 5x5 convolutions would give 0x0: one 7x7 gives 2x2).
/// type Model = (Conv2D<1, 4, 7, 1, Valid, Relu>, Heads<Conv2D<4, 3, 1>, Conv2D<4, 4, 1>>);
/// let data = GridData::new(
///     Dataset::unlabeled(Array4::<f32>::ones((4, 8, 8, 1)))?,
///     Array3::zeros((4, 2, 2)),
///     Array3::ones((4, 2, 2)),
///     Array4::from_elem((4, 2, 2, 4), 0.5),
///     Array3::ones((4, 2, 2)),
/// )?;
/// let mut model = Cpu::seed_from_u64(0).build_module::<Model, f32>();
/// let cfg = FitConfig { epochs: 2, batch_size: 2, verbose: false, ..FitConfig::default() };
/// let history = fit_grid(&mut model, &data, Some(&data), &cfg, LossWeights::default())?;
/// assert_eq!(history.series("val_iou").len(), 2);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
///
/// # Errors
/// As [`super::fit`]; also when the model's grid is not the targets' grid, or a cell's
/// class is not one of the model's outputs.
pub fn fit_grid<M: GridDetector<C, K>, const C: usize, const K: usize>(
    model: &mut M,
    train: &GridData<C>,
    validation: Option<&GridData<C>>,
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
            |model: &mut M, dev: &Cpu, idx: &[usize], grads, tally: &mut GridTally| {
                tally.weights = Some(weights);
                let x = train.data.batch(dev, idx)?;
                let (logits, boxes) =
                    crate::ops::without_input_gradient(|| model.try_forward_mut(x.traced(grads)))?;
                let cells: Vec<Cell> = train.cells(idx).collect();
                tally.add(
                    K,
                    &logits.with_empty_tape().as_vec(),
                    &boxes.with_empty_tape().as_vec(),
                    cells.iter().copied(),
                );
                let m = cells.len();
                // Class targets: one-hot rows times the cell's weight (0: left out).
                let mut y = vec![0.0f32; m * K];
                for (j, cell) in cells.iter().enumerate() {
                    y[j * K + cell.class as usize] = cell.class_weight;
                }
                let y = dev.try_tensor_from_vec(y, (m, Const::<K>))?;
                let class_scale = m as f32 / weight_sum(cells.iter().map(|c| c.class_weight));
                let rows = logits.try_reshape_like(&(m, Const::<K>))?;
                let class_loss =
                    cross_entropy_with_logits_loss(rows, y).try_mul(weights.class * class_scale)?;
                // Boxes: prediction and target times the root of the weight.
                let roots: Vec<f32> = cells
                    .iter()
                    .flat_map(|c| [c.box_weight.sqrt(); 4])
                    .collect();
                let roots = dev.try_tensor_from_vec(roots, (m, Const::<4>))?;
                let target: Vec<f32> = cells.iter().flat_map(|c| c.bbox).collect();
                let target = dev.try_tensor_from_vec(target, (m, Const::<4>))?;
                let box_scale = m as f32 / weight_sum(cells.iter().map(|c| c.box_weight));
                let predicted = boxes.try_reshape_like(&(m, Const::<4>))?;
                let box_loss = mse_loss(predicted.try_mul(roots.clone())?, target.try_mul(roots)?)
                    .try_mul(weights.boxes * box_scale)?;
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
                    d.classes.shape().iter().for_each(|&n| f.count(n));
                    f.bytes(&d.classes.iter().copied().collect::<Vec<u8>>());
                    f.floats(d.class_weights.iter().copied());
                    f.floats(d.boxes.iter().copied());
                    f.floats(d.box_weights.iter().copied());
                });
            }
        }),
    };
    epochs::run(model, cfg, task)
}

fn tally_of<M: GridDetector<C, K>, const C: usize, const K: usize>(
    model: &M,
    data: &GridData<C>,
    weights: LossWeights,
) -> Result<GridTally> {
    let mut tally = GridTally {
        weights: Some(weights),
        ..GridTally::default()
    };
    for_each_batch(model, &data.data, |idx, (logits, boxes)| {
        tally.add(K, &logits.as_vec(), &boxes.as_vec(), data.cells(idx));
        Ok(())
    })?;
    Ok(tally)
}

/// Loss, cell accuracy and mean box IoU of a grid detector on a data set.
///
/// # Errors
/// As [`fit_grid`]'s checks.
pub fn evaluate_grid<M: GridDetector<C, K>, const C: usize, const K: usize>(
    model: &M,
    data: &GridData<C>,
    weights: LossWeights,
) -> Result<GridEvaluation> {
    check(model, data, "evaluation data")?;
    Ok(tally_of(model, data, weights)?.evaluation())
}
