//! A residual unit's main path in training, `bn2(conv2(relu(bn1(conv1(x)))))`, as one
//! differentiable op.
//!
//! Written as five ops, the path copies each intermediate feature map out of its dfdx
//! tensor for the next op, and the backward pass allocates and zeroes a gradient buffer
//! for each of them: eight passes over memory of a feature map's size that compute
//! nothing. [`residual_main_training`] keeps the intermediates in buffers of its own and
//! records one backward step, which writes each intermediate gradient without zeroing
//! it first. The arithmetic is the same as that of the five ops.

use dfdx::prelude::*;

use super::norm::BatchStatistics;
use super::ImageBatch;
use super::{check_grad_lengths, input_needs_gradient, output_buffer, read, read_param};
use crate::arith::Padding;
use crate::error::Result;
use cnnkit_kernels::conv::{self, ConvGeometry};
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

/// The output of a trained op with run-time sizes, and the statistics of its two batch
/// normalizations.
pub type Trained<B, const C: usize, T> = (ImageBatch<B, usize, usize, C, T>, [BatchStatistics; 2]);

/// A residual unit's main path in training mode: `conv1` (stride `first.stride`), batch
/// normalization with the batch's statistics and a ReLU, `conv2`, batch normalization,
/// as one op with one recorded backward step. Returns the output and the two batch
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
    let (b, h, w, _) = *x.shape();
    let needs_dx = input_needs_gradient();
    let g1 = first.geometry((b.size(), h.size(), w.size()))?;
    let g2 = second.geometry((b.size(), g1.out_h, g1.out_w))?;
    let shape = (b, g2.out_h, g2.out_w, Const::<OUT>);
    let (x, xs) = read(x)?;
    // The first stage's output is the second's input, kept for its weight gradient.
    let mut a = Recycled::take(g1.output_len());
    let (s1, stats1) = first.forward(g1, &xs, true, &mut a)?;
    let mut out = output_buffer(g2.output_len());
    let (s2, stats2) = second.forward(g2, &a, false, &mut out)?;
    let (x, mut tape) = x.split_tape();
    let y = x.device().try_tensor_from_vec(out, shape)?;
    if T::OWNS_TAPE {
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
            let dout = take_grad!(grads, y_ghost);
            let (mut dw1, mut dg1, mut db1) = (
                take_grad!(grads, w1),
                take_grad!(grads, g1),
                take_grad!(grads, b1),
            );
            let (mut dw2, mut dg2, mut db2) = (
                take_grad!(grads, w2),
                take_grad!(grads, g2),
                take_grad!(grads, b2),
            );
            let mut dx = if needs_dx {
                take_grad!(grads, x_ghost)
            } else {
                Vec::new()
            };
            check_grad_lengths(
                "residual main path",
                &[
                    ("output", dout.len(), s2.z.len()),
                    (
                        "input",
                        if needs_dx { dx.len() } else { xs.len() },
                        xs.len(),
                    ),
                    ("first kernel", dw1.len(), s1.weight.len()),
                    ("second kernel", dw2.len(), s2.weight.len()),
                    ("first gamma", dg1.len().min(db1.len()), M),
                    ("second gamma", dg2.len().min(db2.len()), OUT),
                ],
            );
            // The second stage's input gradient goes into a zeroed buffer, because the
            // convolutions' input gradients are added.
            let mut da = Recycled::take(a.len());
            da.fill(0.0);
            s2.backward(
                &a,
                false,
                &dout,
                Some(&mut da),
                &mut dw2,
                &mut dg2,
                &mut db2,
            );
            s1.backward(
                &xs,
                true,
                &da,
                needs_dx.then_some(&mut dx[..]),
                &mut dw1,
                &mut dg1,
                &mut db1,
            );
            if needs_dx {
                put_grad!(grads, x_ghost, dx);
            }
            put_grad!(grads, w1, dw1);
            put_grad!(grads, g1, dg1);
            put_grad!(grads, b1, db1);
            put_grad!(grads, w2, dw2);
            put_grad!(grads, g2, dg2);
            put_grad!(grads, b2, db2);
            put_grad!(grads, y_ghost, dout);
            Ok(())
        });
    }
    Ok((y.put_tape(tape), [stats1, stats2]))
}
