//! The transposed convolution layer, the decoder's learned upsampling (notebook 10).

use std::marker::PhantomData;

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleVisitor, NonMutableModule};
use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions};
use dfdx::prelude::*;
use rand::distributions::uniform::SampleUniform;

use super::describe::{image_input, instance_name, push, Describe, FeatureShape, LayerRow};
use super::{forward_error, Activation, Identity, PaddingMode, Valid};
use crate::arith;
use crate::error::Error;
use crate::{init, ops};

/// A 2-D transposed convolution layer: `IN` input channels, `OUT` filters of `K x K`,
/// stride `S`, padding `P` ([`super::Same`] or [`super::Valid`]) and a fused activation
/// `A` ([`super::Relu`] or [`super::Identity`]), with a bias per filter.
///
/// Every input pixel adds its value times the kernel to a `K x K` window of the output,
/// windows `S` pixels apart, so a stride of 2 doubles the height and width: the learned
/// upsampling of a segmentation network's decoder. It is the gradient of a [`super::Conv2D`]
/// with the same kernel, stride and padding whose input has this layer's output shape,
/// and runs on the same fast kernels ([`crate::ops::conv2d_transpose`]).
///
/// This is the builder type you write in a model; `dev.build_module` turns it into a
/// [`Conv2DTransposeModule`] that holds the weights.
///
/// Keras: `Conv2DTranspose(OUT, K, strides=S, padding=..., activation=...)` (with
/// `output_padding=None`, `use_bias=True`, Glorot uniform kernel and zero bias, Keras'
/// defaults); the input channel count, which Keras infers, is written out here so that
/// the compiler can check it. Parameters: `K * K * IN * OUT + OUT`.
///
/// # Shapes
/// `(B, H, W, IN)` to `(B, H', W', OUT)` with `H' = H * S` for `same` and
/// `H' = H * S + max(K - S, 0)` for `valid` (`(H - 1) * S + K` when `K >= S`); see
/// [`crate::arith::transpose_output_size`].
///
/// ```
/// use cnnkit_nn::prelude::*;
/// // keras.layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")
/// type Up = Conv2DTranspose<32, 16, 3, 2, Same, Relu>;
/// let dev = Cpu::seed_from_u64(0);
/// let up = dev.build_module::<Up, f32>();
/// let y = up.forward(dev.zeros_like(&(2, 7, 7, Const::<32>)));
/// assert_eq!(*y.shape(), (2, 14, 14, Const::<16>));
/// let s = summary(&up, [7, 7, 32]).unwrap();
/// assert_eq!(s.total_params(), 3 * 3 * 32 * 16 + 16);
/// // "valid" adds K - S rows and columns: 7 -> (7 - 1) * 2 + 3 = 15.
/// let valid = dev.build_module::<Conv2DTranspose<32, 16, 3, 2>, f32>();
/// assert_eq!(valid.forward(dev.zeros_like(&(1, 7, 7, Const::<32>))).shape().1, 15);
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct Conv2DTranspose<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize = 1,
    P = Valid,
    A = Identity,
>(PhantomData<(P, A)>);

/// A built [`Conv2DTranspose`] layer with its weights.
#[derive(Clone, Debug)]
pub struct Conv2DTransposeModule<
    const IN: usize,
    const OUT: usize,
    const K: usize,
    const S: usize,
    P,
    A,
    E: Dtype,
    D: Storage<E>,
> {
    /// The kernel in Keras' layout for `Conv2DTranspose`, `(K, K, OUT, IN)`:
    /// `weight[ky, kx, f, c]` is what input channel `c` adds to filter `f` at kernel
    /// position `(ky, kx)`.
    pub weight: Tensor<Rank4<K, K, OUT, IN>, E, D>,
    /// One bias per filter.
    pub bias: Tensor<Rank1<OUT>, E, D>,
    marker: PhantomData<(P, A)>,
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    BuildOnDevice<D, E> for Conv2DTranspose<IN, OUT, K, S, P, A>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
{
    type Built = Conv2DTransposeModule<IN, OUT, K, S, P, A, E, D>;
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D>
    TensorCollection<E, D> for Conv2DTransposeModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
    P: 'static,
    A: 'static,
{
    type To<E2: Dtype, D2: Device<E2>> = Conv2DTransposeModule<IN, OUT, K, S, P, A, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    // Keras' default, Glorot uniform, with Keras' fans for a kernel
                    // (K, K, OUT, IN): K * K * OUT in, K * K * IN out.
                    TensorOptions::reset_with(|t| init::glorot_uniform(t, K * K * OUT, K * K * IN)),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(weight, bias)| Conv2DTransposeModule {
                weight,
                bias,
                marker: PhantomData,
            },
        )
    }
}

impl<const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A, E, D> NonMutableModule
    for Conv2DTransposeModule<IN, OUT, K, S, P, A, E, D>
where
    E: Dtype,
    D: Storage<E>,
{
}

impl<B, H, W, T, const IN: usize, const OUT: usize, const K: usize, const S: usize, P, A>
    Module<Tensor<(B, H, W, Const<IN>), f32, Cpu, T>>
    for Conv2DTransposeModule<IN, OUT, K, S, P, A, f32, Cpu>
where
    B: Dim,
    H: Dim,
    W: Dim,
    T: Tape<f32, Cpu>,
    P: PaddingMode,
    A: Activation,
{
    type Output = Tensor<(B, usize, usize, Const<OUT>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<IN>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(
                K > 0,
                "Conv2DTranspose: the kernel size K must be at least 1"
            );
            assert!(S > 0, "Conv2DTranspose: the stride S must be at least 1");
            assert!(
                OUT > 0,
                "Conv2DTranspose: a layer needs at least one filter"
            );
        }
        let y = ops::conv2d_transpose(x, &self.weight, &self.bias, S, P::PADDING, A::RELU)
            .map_err(|e| forward_error("Conv2DTranspose", e))?;
        if A::RELU {
            Ok(y)
        } else {
            A::apply(y)
        }
    }
}

impl<
        const IN: usize,
        const OUT: usize,
        const K: usize,
        const S: usize,
        P: PaddingMode,
        A: Activation,
    > Describe for Conv2DTransposeModule<IN, OUT, K, S, P, A, f32, Cpu>
{
    fn describe(
        &self,
        input: FeatureShape,
        rows: &mut Vec<LayerRow>,
    ) -> crate::Result<FeatureShape> {
        let (kind, base) = ("Conv2DTranspose", "conv2d_transpose");
        let (h, w, _) = image_input(rows, kind, base, input, Some(IN))?;
        let size = |n| arith::transpose_output_size(n, K, S, P::PADDING);
        let (oh, ow) = match (size(h), size(w)) {
            (Ok(oh), Ok(ow)) => (oh, ow),
            (Err(e), _) | (_, Err(e)) => {
                return Err(Error::Shape {
                    layer: format!("{} ({kind})", instance_name(rows, kind, base)),
                    expected: "an input of at least 1x1".into(),
                    actual: format!("{h}x{w} ({e})"),
                });
            }
        };
        let config = format!(
            "{OUT} filters {K}x{K}, stride {S}, padding={}, activation={}",
            P::PADDING,
            A::NAME
        );
        Ok(push(
            rows,
            kind,
            base,
            FeatureShape::image(oh, ow, OUT),
            arith::conv_params(K, K, IN, OUT),
            config,
        ))
    }
}
