//! A residual unit in training as one differentiable op: its main path,
//! `bn2(conv2(relu(bn1(conv1(x)))))` ([`residual_main_training`]), and the whole unit with
//! the shortcut, the addition and the ReLU ([`residual_unit_training`]).
//!
//! Written as separate ops, the unit copies each intermediate feature map out of its dfdx
//! tensor for the next op, and the backward pass allocates and zeroes a gradient buffer
//! for each of them: about ten passes over memory of a feature map's size that compute
//! nothing. These ops keep the intermediates in buffers of their own and record one
//! backward step, which writes the batch normalizations' input gradients without zeroing
//! their buffers first (only the second convolution's input gradient needs a zeroed
//! buffer, because the convolutions' input-gradient kernels add). The arithmetic is the
//! same as that of the separate ops.

use dfdx::prelude::*;

use super::norm::BatchStatistics;
use super::ImageBatch;
use super::{check_grad_lengths, input_needs_gradient, output_buffer, read, read_param};
use crate::arith::Padding;
use crate::error::{Error, Result};
use cnnkit_kernels::conv::{self, ConvGeometry};
use cnnkit_kernels::elementwise;
use cnnkit_kernels::norm::{self, BatchNormMode};
use cnnkit_kernels::scratch::Recycled;

/// One stage of a residual unit's main path: a convolution without bias (Keras
/// `Conv2D(OUT, K, strides=stride, padding=..., use_bias=False)`) and the batch
/// normalization after it, in training mode (`gamma`, `beta`, `epsilon`).
#[derive(Clone, Copy, Debug)]
pub struct ConvBatchNorm<'a, const IN: usize, const OUT: usize, const K: usize> {
    /// Filters in Keras' layout `(K, K, IN, OUT)`.
    pub weight: &'a Tensor<Rank4<K, K, IN, OUT>, f32, Cpu>,
    /// Stride of the convolution.
    pub stride: usize,
    /// Padding of the convolution.
    pub padding: Padding,
    /// Scale of the normalised values.
    pub gamma: &'a Tensor<Rank1<OUT>, f32, Cpu>,
    /// Shift of the normalised values.
    pub beta: &'a Tensor<Rank1<OUT>, f32, Cpu>,
    /// Added to the variance before its square root.
    pub epsilon: f32,
}

/// What one stage keeps from its forward pass for the backward pass.
struct StageState<const IN: usize, const OUT: usize> {
    geometry: ConvGeometry,
    weight: Vec<f32>,
    gamma: Vec<f32>,
    beta: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// The convolution's output, the batch normalization's input.
    z: Recycled,
}

impl<const IN: usize, const OUT: usize, const K: usize> ConvBatchNorm<'_, IN, OUT, K> {
    /// The convolution's geometry on `batch` images of `h x w x IN`.
    fn geometry(&self, (batch, h, w): (usize, usize, usize)) -> Result<ConvGeometry> {
        let stride = (self.stride, self.stride);
        Ok(ConvGeometry::new(
            batch,
            (h, w, IN),
            OUT,
            (K, K),
            stride,
            self.padding,
        )?)
    }

    /// The convolution of `x`, its batch statistics, and the normalised output (with a
    /// ReLU when `relu`) in `out`, which it overwrites.
    fn forward(
        &self,
        geometry: ConvGeometry,
        x: &[f32],
        relu: bool,
        out: &mut [f32],
    ) -> Result<(StageState<IN, OUT>, BatchStatistics)> {
        let weight = read_param(self.weight)?;
        let mut z = Recycled::take(geometry.output_len());
        conv::conv2d_forward(&geometry, x, &weight, &[0.0; OUT], false, &mut z);
        let (mean, variance) = norm::channel_moments(&z, OUT);
        let inv_std = norm::inverse_std(&variance, self.epsilon);
        let (gamma, beta) = (read_param(self.gamma)?, read_param(self.beta)?);
        norm::batch_norm_forward(&z, &mean, &inv_std, &gamma, &beta, relu, out);
        let stats = BatchStatistics {
            mean: mean.clone(),
            variance,
        };
        let state = StageState {
            geometry,
            weight,
            gamma,
            beta,
            mean,
            inv_std,
            z,
        };
        Ok((state, stats))
    }
}

/// The backward pass of one stage inside a backward closure: takes the gradient buffer of
/// the stage's kernel from `grads`, computes the kernel's, gamma's and beta's gradients
/// ([`StageState::backward`]) and puts them into `grads`, the input's into `dx`. One stage
/// at a time, and gamma and beta through buffers of their own, so that parameter tensors
/// shared between stages (or gamma used as beta) add up instead of meeting an empty
/// buffer. A macro because dfdx's ghost tensors cannot be named in a signature.
macro_rules! stage_backward {
    ($grads:expr, $state:expr, ($w:expr, $g:expr, $b:expr), $input:expr, $relu:expr, $dy:expr, $dx:expr) => {{
        let state = &$state;
        let mut dw = take_grad!($grads, $w);
        check_grad_lengths(
            "conv + batch norm stage",
            &[("kernel", dw.len(), state.weight.len())],
        );
        let (mut dg, mut db) = (
            vec![0.0f32; state.gamma.len()],
            vec![0.0f32; state.beta.len()],
        );
        state.backward($input, $relu, $dy, $dx, &mut dw, &mut dg, &mut db);
        put_grad!($grads, $w, dw);
        for (ghost, g, what) in [(&$g, dg, "gamma"), (&$b, db, "beta")] {
            let entry = &mut **$grads.get_or_alloc_mut(ghost)?;
            check_grad_lengths("conv + batch norm stage", &[(what, entry.len(), g.len())]);
            elementwise::add_assign(entry, &g);
        }
    }};
}

impl<const IN: usize, const OUT: usize> StageState<IN, OUT> {
    /// The backward pass of one stage, from the gradient of its output `dy` (the stage's
    /// fused ReLU when `relu`): the parameters' gradients are added to `dw`, `dgamma`,
    /// `dbeta`, and the input's (of `input`) to `dx` when given.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        input: &[f32],
        relu: bool,
        dy: &[f32],
        dx: Option<&mut [f32]>,
        dw: &mut [f32],
        dgamma: &mut [f32],
        dbeta: &mut [f32],
    ) {
        let mut dz = Recycled::take(self.z.len());
        norm::batch_norm_backward_overwrite(
            BatchNormMode::BatchStatistics,
            &self.z,
            &self.mean,
            &self.inv_std,
            &self.gamma,
            &self.beta,
            relu,
            dy,
            &mut dz,
            dgamma,
            dbeta,
        );
        let g = &self.geometry;
        conv::conv2d_backward(g, input, &self.weight, &[], false, &mut dz, dx, dw, &mut []);
    }
}

/// The statistics of a fused op's batch normalizations, for their moving averages.
#[derive(Clone, Debug, PartialEq)]
pub struct UnitStatistics {
    /// The first batch normalization's (after `conv1`).
    pub first: BatchStatistics,
    /// The second's (after `conv2`).
    pub second: BatchStatistics,
    /// The shortcut's, for a [`Shortcut::Projection`].
    pub shortcut: Option<BatchStatistics>,
}

/// The output of a fused op, with run-time sizes, and its batch statistics.
pub type Trained<B, const C: usize, T> = (ImageBatch<B, usize, usize, C, T>, UnitStatistics);

/// The shortcut path of a residual unit ([`residual_unit_training`]).
#[derive(Clone, Copy, Debug)]
pub enum Shortcut<'a, const IN: usize, const OUT: usize> {
    /// The input itself, for a unit that keeps the size and the channel count.
    Identity,
    /// A 1x1 convolution with the main path's stride and a batch normalization, for a
    /// unit that changes them (the book's `skip_layers`).
    Projection(ConvBatchNorm<'a, IN, OUT, 1>),
}

/// A residual unit's main path in training mode: `conv1` (stride `first.stride`), batch
/// normalization with the batch's statistics and a ReLU, `conv2`, batch normalization,
/// as one op with one recorded backward step. Returns the output and the batch
/// normalizations' statistics, for their moving averages.
///
/// The same values as [`super::conv2d_no_bias`], [`super::batch_norm_relu_training`],
/// [`super::conv2d_no_bias`] and [`super::batch_norm_training`] one after the other, with
/// the same gradients; it saves their copies of the intermediate feature maps and the
/// zeroing of their gradient buffers. [`crate::layers::ResidualMain`] trains with it.
///
/// Keras: the `main_layers` of the book's `ResidualUnit`, called with `training=True`.
///
/// # Errors
/// [`crate::Error::Invalid`] when a stride is 0 or a `valid` kernel does not fit.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::{batch_norm_relu_training, batch_norm_training, conv2d_no_bias};
/// use cnnkit_nn::ops::{residual_main_training, ConvBatchNorm};
/// let dev = Cpu::seed_from_u64(1);
/// let x: Images<2> = dev.sample_normal_like(&(2, 5, 5, Const::<2>));
/// let (w1, w2): (Tensor<Rank4<3, 3, 2, 2>, f32, Cpu>, _) = (dev.sample_normal(), dev.sample_normal());
/// let (gamma, beta) = (dev.tensor([1.0f32, 2.0]), dev.tensor([0.5f32, -0.5]));
/// let stage = |weight| ConvBatchNorm { weight, stride: 1, padding: Padding::Same,
///     gamma: &gamma, beta: &beta, epsilon: 1e-3 };
/// let (y, _) = residual_main_training(x.clone(), stage(&w1), stage(&w2)).unwrap();
///
/// let z = conv2d_no_bias(x, &w1, 1, Padding::Same, false).unwrap();
/// let (a, _) = batch_norm_relu_training(z, &gamma, &beta, 1e-3).unwrap();
/// let z = conv2d_no_bias(a, &w2, 1, Padding::Same, false).unwrap();
/// let (expected, _) = batch_norm_training(z, &gamma, &beta, 1e-3).unwrap();
/// assert_eq!(y.as_vec(), expected.as_vec());
/// ```
pub fn residual_main_training<
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    const IN: usize,
    const M: usize,
    const OUT: usize,
    const K1: usize,
    const K2: usize,
>(
    x: ImageBatch<B, H, W, IN, T>,
    first: ConvBatchNorm<'_, IN, M, K1>,
    second: ConvBatchNorm<'_, M, OUT, K2>,
) -> Result<Trained<B, OUT, T>> {
    train(x, first, second, None)
}

/// A whole residual unit in training mode, `relu(main(x) + shortcut(x))`, as one op:
/// the main path of [`residual_main_training`], the shortcut (the input itself or a 1x1
/// convolution and batch normalization), the addition and the ReLU, with one recorded
/// backward step. Besides what the main path saves, the addition reads no copies of its
/// two inputs, and its gradient goes to both paths without a buffer of its own.
///
/// Keras: the book's `ResidualUnit(filters, strides)` called with `training=True`;
/// [`crate::layers::ResidualUnit`] and [`crate::layers::ResidualUnitDown`] train with it.
///
/// # Errors
/// [`crate::Error::Shape`] when the shortcut's output does not have the main path's shape
/// (an identity shortcut beside a main path with a stride or another channel count);
/// [`crate::Error::Invalid`] when a stride is 0 or a `valid` kernel does not fit.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::{add_relu, residual_main_training, residual_unit_training};
/// use cnnkit_nn::ops::{ConvBatchNorm, Shortcut};
/// let dev = Cpu::seed_from_u64(1);
/// let x: Images<2> = dev.sample_normal_like(&(2, 5, 5, Const::<2>));
/// let (w1, w2): (Tensor<Rank4<3, 3, 2, 2>, f32, Cpu>, _) = (dev.sample_normal(), dev.sample_normal());
/// let (gamma, beta) = (dev.tensor([1.0f32, 2.0]), dev.tensor([0.5f32, -0.5]));
/// let stage = |weight| ConvBatchNorm { weight, stride: 1, padding: Padding::Same,
///     gamma: &gamma, beta: &beta, epsilon: 1e-3 };
/// let (y, _) = residual_unit_training(x.clone(), stage(&w1), stage(&w2), Shortcut::Identity)?;
/// let (main, _) = residual_main_training(x.clone(), stage(&w1), stage(&w2))?;
/// assert_eq!(y.as_vec(), add_relu(main, x)?.as_vec());
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn residual_unit_training<
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    const IN: usize,
    const M: usize,
    const OUT: usize,
    const K1: usize,
    const K2: usize,
>(
    x: ImageBatch<B, H, W, IN, T>,
    first: ConvBatchNorm<'_, IN, M, K1>,
    second: ConvBatchNorm<'_, M, OUT, K2>,
    shortcut: Shortcut<'_, IN, OUT>,
) -> Result<Trained<B, OUT, T>> {
    train(x, first, second, Some(shortcut))
}

/// A shape error of a unit whose shortcut does not match its main path.
fn shortcut_error(main: [usize; 3], shortcut: [usize; 3]) -> Error {
    Error::Shape {
        layer: "ResidualUnit (Add)".into(),
        expected: format!("a shortcut of the main path's shape {main:?} (height, width, channels)"),
        actual: format!(
            "{shortcut:?}; give the shortcut a 1x1 convolution with the main path's stride \
             and filters (Shortcut::Projection)"
        ),
    }
}

/// The main path alone (`skip` `None`) or the whole unit.
fn train<
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    const IN: usize,
    const M: usize,
    const OUT: usize,
    const K1: usize,
    const K2: usize,
>(
    x: ImageBatch<B, H, W, IN, T>,
    first: ConvBatchNorm<'_, IN, M, K1>,
    second: ConvBatchNorm<'_, M, OUT, K2>,
    skip: Option<Shortcut<'_, IN, OUT>>,
) -> Result<Trained<B, OUT, T>> {
    let (b, h, w, _) = *x.shape();
    let (b, h, w) = (b, h.size(), w.size());
    let g1 = first.geometry((b.size(), h, w))?;
    let g2 = second.geometry((b.size(), g1.out_h, g1.out_w))?;
    let main_shape = [g2.out_h, g2.out_w, OUT];
    let skipped = skip.is_some();
    let projection = match &skip {
        Some(Shortcut::Identity) if [h, w, IN] != main_shape => {
            return Err(shortcut_error(main_shape, [h, w, IN]));
        }
        Some(Shortcut::Projection(p)) => {
            let gs = p.geometry((b.size(), h, w))?;
            if [gs.out_h, gs.out_w, OUT] != main_shape {
                return Err(shortcut_error(main_shape, [gs.out_h, gs.out_w, OUT]));
            }
            Some((p, gs))
        }
        _ => None,
    };
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    // The first stage's output is the second's input, kept for its weight gradient.
    let mut a = Recycled::take(g1.output_len());
    let (s1, stats1) = first.forward(g1, &xs, true, &mut a)?;
    let mut out = output_buffer(g2.output_len());
    let (s2, stats2) = second.forward(g2, &a, false, &mut out)?;
    // The addition and the ReLU, with its gate (a byte per value) for the backward pass.
    let mut keep = Vec::new();
    if skipped && T::OWNS_TAPE {
        keep = vec![0u8; out.len()];
    }
    // What a projection shortcut keeps for the backward pass: its stage and parameters.
    let (short, stats_s) = match projection {
        Some((p, gs)) => {
            let mut s_out = Recycled::take(gs.output_len());
            let (state, stats) = p.forward(gs, &xs, false, &mut s_out)?;
            elementwise::add_relu_assign(&mut out, &s_out, &mut keep);
            let ghosts = (p.weight.ghost(), p.gamma.ghost(), p.beta.ghost());
            (Some((state, ghosts)), Some(stats))
        }
        None => {
            if skipped {
                // IN == OUT here (checked above), so the input is laid out as the output.
                elementwise::add_relu_assign(&mut out, &xs, &mut keep);
            }
            (None, None)
        }
    };
    let stats = UnitStatistics {
        first: stats1,
        second: stats2,
        shortcut: stats_s,
    };
    let shape = (b, g2.out_h, g2.out_w, Const::<OUT>);
    let (x, mut tape) = x.split_tape();
    let y = x.device().try_tensor_from_vec(out, shape)?;
    if !T::OWNS_TAPE {
        return Ok((y.put_tape(tape), stats));
    }
    let (x_ghost, y_ghost) = (x.ghost(), y.ghost());
    let (w1, g1, b1) = (
        first.weight.ghost(),
        first.gamma.ghost(),
        first.beta.ghost(),
    );
    let (w2, g2, b2) = (
        second.weight.ghost(),
        second.gamma.ghost(),
        second.beta.ghost(),
    );
    tape.add_backward_op(move |grads| {
        let mut dout = take_grad!(grads, y_ghost);
        let mut dx = if needs_dx {
            take_grad!(grads, x_ghost)
        } else {
            Vec::new()
        };
        check_grad_lengths(
            "residual unit",
            &[
                ("output", dout.len(), s2.z.len()),
                (
                    "input",
                    if needs_dx { dx.len() } else { xs.len() },
                    xs.len(),
                ),
            ],
        );
        // The ReLU after the addition: the gradient of the sum, which both paths get.
        if skipped {
            elementwise::gate_in_place(&mut dout, &keep);
        }
        // The second stage's input gradient goes into a zeroed buffer, because the
        // convolutions' input gradients are added.
        let mut da = Recycled::take(a.len());
        da.fill(0.0);
        stage_backward!(grads, s2, (w2, g2, b2), &a, false, &dout, Some(&mut da[..]));
        let dx_arg = needs_dx.then_some(&mut dx[..]);
        stage_backward!(grads, s1, (w1, g1, b1), &xs, true, &da, dx_arg);
        drop(da);
        match short {
            Some((state, (ws, gs, bs))) => {
                let dx_arg = needs_dx.then_some(&mut dx[..]);
                stage_backward!(grads, state, (ws, gs, bs), &xs, false, &dout, dx_arg);
            }
            // The identity shortcut passes the sum's gradient on unchanged.
            None if skipped && needs_dx => elementwise::add_assign(&mut dx, &dout),
            None => {}
        }
        if needs_dx {
            put_grad!(grads, x_ghost, dx);
        }
        put_grad!(grads, y_ghost, dout);
        Ok(())
    });
    Ok((y.put_tape(tape), stats))
}

/// One stage in training mode as one op: a convolution without bias, batch normalization
/// with the batch's statistics and, when `relu`, a ReLU, with one recorded backward step.
/// Returns the output and the batch statistics. What ResNet's first layers, `Conv2D`,
/// `BatchNormalization()` and `Activation("relu")`, compute, without the copies of the
/// feature map and the zeroed gradient buffers between them (see the module's text).
/// [`crate::layers::ConvBnRelu`] trains with it.
///
/// # Errors
/// [`crate::Error::Invalid`] when the stride is 0 or a `valid` kernel does not fit.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// use cnnkit_nn::ops::{batch_norm_relu_training, conv2d_no_bias, conv_batch_norm_training};
/// use cnnkit_nn::ops::ConvBatchNorm;
/// let dev = Cpu::seed_from_u64(1);
/// let x: Images<1> = dev.sample_normal_like(&(2, 5, 5, Const::<1>));
/// let w: Tensor<Rank4<3, 3, 1, 2>, f32, Cpu> = dev.sample_normal();
/// let (gamma, beta) = (dev.tensor([1.0f32, 2.0]), dev.tensor([0.5f32, -0.5]));
/// let stage = ConvBatchNorm { weight: &w, stride: 1, padding: Padding::Same,
///     gamma: &gamma, beta: &beta, epsilon: 1e-3 };
/// let (y, _) = conv_batch_norm_training(x.clone(), stage, true)?;
/// let z = conv2d_no_bias(x, &w, 1, Padding::Same, false)?;
/// let (expected, _) = batch_norm_relu_training(z, &gamma, &beta, 1e-3)?;
/// assert_eq!(y.as_vec(), expected.as_vec());
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn conv_batch_norm_training<
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    const IN: usize,
    const OUT: usize,
    const K: usize,
>(
    x: ImageBatch<B, H, W, IN, T>,
    stage: ConvBatchNorm<'_, IN, OUT, K>,
    relu: bool,
) -> Result<(ImageBatch<B, usize, usize, OUT, T>, BatchStatistics)> {
    let (b, h, w, _) = *x.shape();
    let g = stage.geometry((b.size(), h.size(), w.size()))?;
    let needs_dx = input_needs_gradient();
    let (x, xs) = read(x)?;
    let mut out = output_buffer(g.output_len());
    let (state, stats) = stage.forward(g, &xs, relu, &mut out)?;
    let shape = (b, g.out_h, g.out_w, Const::<OUT>);
    let (x, mut tape) = x.split_tape();
    let y = x.device().try_tensor_from_vec(out, shape)?;
    if T::OWNS_TAPE {
        let (x_ghost, y_ghost) = (x.ghost(), y.ghost());
        let (wg, gg, bg) = (
            stage.weight.ghost(),
            stage.gamma.ghost(),
            stage.beta.ghost(),
        );
        tape.add_backward_op(move |grads| {
            let dout = take_grad!(grads, y_ghost);
            let mut dx = if needs_dx {
                take_grad!(grads, x_ghost)
            } else {
                Vec::new()
            };
            check_grad_lengths(
                "convolution and batch normalization",
                &[
                    ("output", dout.len(), state.z.len()),
                    (
                        "input",
                        if needs_dx { dx.len() } else { xs.len() },
                        xs.len(),
                    ),
                ],
            );
            let dx_arg = needs_dx.then_some(&mut dx[..]);
            stage_backward!(grads, state, (wg, gg, bg), &xs, relu, &dout, dx_arg);
            if needs_dx {
                put_grad!(grads, x_ghost, dx);
            }
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok((y.put_tape(tape), stats))
}
