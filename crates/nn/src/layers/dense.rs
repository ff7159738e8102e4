//! The fully connected layer.

use std::marker::PhantomData;

use dfdx::nn::modules::{BuildOnDevice, Module, ModuleVisitor, NonMutableModule};
use dfdx::nn::tensor_collection::{TensorCollection, TensorOptions};
use dfdx::prelude::*;
use rand::distributions::uniform::SampleUniform;

use super::{forward_error, Activation, Identity};
use crate::{init, ops};

/// A fully connected layer from `I` to `O` features with a fused activation `A`.
///
/// Keras: `Dense(O, activation=...)`. Weights are stored as in Keras, `(I, O)`, and
/// initialised as in Keras (Glorot uniform, zero bias). It accepts `(B, I)` tensors and
/// the `(B, n)` output of [`super::Flatten`], whose `n` is checked against `I`.
///
/// # Shapes
/// `(B, I)` to `(B, O)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::seed_from_u64(0);
/// let dense = dev.build_module::<Dense<4, 3, Relu>, f32>();
/// let y = dense.forward(dev.ones_like(&(5, Const::<4>)));
/// assert_eq!(*y.shape(), (5, Const::<3>));
/// assert!(y.as_vec().iter().all(|v| *v >= 0.0));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct Dense<const I: usize, const O: usize, A = Identity>(PhantomData<A>);

/// A built [`Dense`] layer with its weights.
#[derive(Clone, Debug)]
pub struct DenseModule<const I: usize, const O: usize, A, E: Dtype, D: Storage<E>> {
    /// Weights `(I, O)`: column `j` holds the weights of output `j`.
    pub weight: Tensor<Rank2<I, O>, E, D>,
    /// One bias per output.
    pub bias: Tensor<Rank1<O>, E, D>,
    marker: PhantomData<A>,
}

impl<const I: usize, const O: usize, A: 'static, E, D> BuildOnDevice<D, E> for Dense<I, O, A>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
{
    type Built = DenseModule<I, O, A, E, D>;
}

impl<const I: usize, const O: usize, A: 'static, E, D> TensorCollection<E, D>
    for DenseModule<I, O, A, E, D>
where
    E: Dtype + num_traits::Float + SampleUniform,
    D: Device<E>,
{
    type To<E2: Dtype, D2: Device<E2>> = DenseModule<I, O, A, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, E, D>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(|t| init::glorot_uniform(t, I, O)),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(weight, bias)| DenseModule {
                weight,
                bias,
                marker: PhantomData,
            },
        )
    }
}

impl<const I: usize, const O: usize, A> DenseModule<I, O, A, f32, Cpu> {
    /// The same layer as a convolution with `K × K` filters over `C` channels, stride 1
    /// and `valid` padding: the step that turns a classifier into a fully convolutional
    /// network (FCN, the book's chapter 14). On a `K × K × C` input the convolution gives
    /// one position whose `O` values are this layer's outputs for the flattened input; on a
    /// larger input it slides and gives those outputs for every `K × K` window at once.
    ///
    /// The weights are reused, not copied into a new order: [`super::Flatten`] reads
    /// `(h, w, c)` row by row, so row `(h·K + w)·C + c` of this layer's `(I, O)` weights is
    /// filter entry `[h, w, c, ..]` of Keras' `(K, K, C, O)` layout, and the two share one
    /// buffer order. A dense layer after the first (on `O` features) becomes a 1 × 1
    /// convolution: `to_conv2d::<O, 1>()`.
    ///
    /// ```
    /// use cnnkit_nn::prelude::*;
    /// let dev = Cpu::seed_from_u64(0);
    /// let dense = dev.build_module::<Dense<{ 3 * 3 * 2 }, 4>, f32>();
    /// let conv = dense.to_conv2d::<2, 3>()?;
    /// let x: Tensor<(usize, usize, usize, Const<2>), f32, Cpu> = dev.sample_normal_like(&(1, 3, 3, Const::<2>));
    /// let (a, b) = (dense.forward(Flatten.forward(x.clone())), conv.forward(x));
    /// assert_eq!(b.shape().1, 1);
    /// assert!(a.as_vec().iter().zip(b.as_vec()).all(|(p, q)| (p - q).abs() < 1e-5));
    /// // 18 inputs are not a 2 x 2 x 2 window:
    /// assert!(dense.to_conv2d::<2, 2>().is_err());
    /// # Ok::<(), cnnkit_nn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::Invalid`] when `I` is not `K · K · C`.
    pub fn to_conv2d<const C: usize, const K: usize>(
        &self,
    ) -> crate::Result<super::Conv2DModule<C, O, K, 1, super::Valid, A, f32, Cpu>> {
        if K * K * C != I {
            return Err(crate::Error::invalid(
                "Dense to Conv2D",
                format!(
                    "the dense layer has {I} inputs, a {K} x {K} window of {C} channels has {}: \
                     pick K and C with K * K * C = {I} (the shape the Flatten before it saw)",
                    K * K * C
                ),
            ));
        }
        let dev = self.weight.device().clone();
        let weight = dev.try_tensor_from_vec(
            self.weight.as_vec(),
            (Const::<K>, Const::<K>, Const::<C>, Const::<O>),
        )?;
        let bias = dev.try_tensor_from_vec(self.bias.as_vec(), (Const::<O>,))?;
        Ok(super::Conv2DModule::from_weights(weight, bias))
    }
}

impl<const I: usize, const O: usize, A, E: Dtype, D: Storage<E>> NonMutableModule
    for DenseModule<I, O, A, E, D>
{
}

impl<B: Dim, T: Tape<f32, Cpu>, const I: usize, const O: usize, A: Activation>
    Module<Tensor<(B, Const<I>), f32, Cpu, T>> for DenseModule<I, O, A, f32, Cpu>
{
    type Output = Tensor<(B, Const<O>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<(B, Const<I>), f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let shape = (x.shape().0, Const::<O>);
        let y = x.try_matmul(self.weight.retaped::<T>())?;
        let y = y.try_add(self.bias.retaped::<T>().try_broadcast_like(&shape)?)?;
        A::apply(y)
    }
}

impl<B: Dim, T: Tape<f32, Cpu>, const I: usize, const O: usize, A: Activation>
    Module<Tensor<(B, usize), f32, Cpu, T>> for DenseModule<I, O, A, f32, Cpu>
{
    type Output = Tensor<(B, Const<O>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<(B, usize), f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let x = ops::to_features::<B, I, T>(x, "Dense").map_err(|e| forward_error("Dense", e))?;
        self.try_forward(x)
    }
}
