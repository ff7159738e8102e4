//! Pooling and flattening layers. None of them has weights.

use std::marker::PhantomData;

use dfdx::nn::modules::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

use super::{forward_error, PaddingMode, Valid};
use crate::ops::{self, PoolKind};

/// Max pooling over `P x P` windows moved by `S` (by default `S = P`, as in Keras).
///
/// Keras: `MaxPool2D(pool_size=P, strides=S, padding=...)`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H', W', C)`; with the defaults `H' = floor(H / P)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let y = MaxPool2D::<2>::default().forward(dev.zeros_like(&(1, 28, 28, Const::<64>)));
/// assert_eq!(*y.shape(), (1, 14, 14, Const::<64>));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct MaxPool2D<const P: usize, const S: usize = P, Pad = Valid>(PhantomData<Pad>);

/// Average pooling over `P x P` windows moved by `S` (by default `S = P`).
///
/// Keras: `AvgPool2D(pool_size=P, strides=S, padding=...)`. With `same` padding the padded
/// cells are left out of each average, as in Keras.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H', W', C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let y = AvgPool2D::<2>::default().forward(dev.ones_like(&(1, 4, 4, Const::<3>)));
/// assert_eq!(y.as_vec(), vec![1.0; 12]);
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct AvgPool2D<const P: usize, const S: usize = P, Pad = Valid>(PhantomData<Pad>);

/// Global average pooling: the mean of each feature map.
///
/// Keras: `GlobalAvgPool2D()`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let y = GlobalAvgPool2D.forward(dev.ones_like(&(2, 7, 7, Const::<8>)));
/// assert_eq!(*y.shape(), (2, Const::<8>));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct GlobalAvgPool2D;

/// Depthwise max pooling: reduces the channels to `CO` by taking, pixel by pixel, the
/// maximum over each group of `C / CO` consecutive feature maps (the lecture's 깊이 위주
/// 최대 풀링). Keras has no such layer; TensorFlow: `tf.nn.max_pool` with
/// `ksize=(1, 1, 1, C / CO)`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H, W, CO)`; a `C` that is not a multiple of `CO` is a compile error.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let y = DepthwiseMaxPool2D::<2>.forward(dev.ones_like(&(1, 5, 5, Const::<6>)));
/// assert_eq!(*y.shape(), (1, 5, 5, Const::<2>));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct DepthwiseMaxPool2D<const CO: usize>;

/// Flattens each image into a vector (row by row, channels innermost, as Keras does).
///
/// Keras: `Flatten()`.
///
/// # Shapes
/// `(B, H, W, C)` to `(B, H * W * C)`.
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let y = Flatten.forward(dev.zeros_like(&(4, 3, 3, Const::<256>)));
/// assert_eq!(*y.shape(), (4, 2304));
/// ```
#[derive(Default, Clone, Copy, Debug)]
pub struct Flatten;

macro_rules! zero_sized {
    ($($t:ty => [$($g:tt)*]),* $(,)?) => {$(
        impl<$($g)*> ZeroSizedModule for $t {}
        impl<$($g)*> NonMutableModule for $t {}
    )*};
}

zero_sized!(
    MaxPool2D<P, S, Pad> => [const P: usize, const S: usize, Pad: Default],
    AvgPool2D<P, S, Pad> => [const P: usize, const S: usize, Pad: Default],
    GlobalAvgPool2D => [],
    DepthwiseMaxPool2D<CO> => [const CO: usize],
    Flatten => [],
);

macro_rules! spatial_pool {
    ($layer:ident, $kind:expr, $name:literal) => {
        impl<B, H, W, T, const C: usize, const P: usize, const S: usize, Pad>
            Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for $layer<P, S, Pad>
        where
            B: Dim,
            H: Dim,
            W: Dim,
            T: Tape<f32, Cpu>,
            Pad: PaddingMode,
        {
            type Output = Tensor<(B, usize, usize, Const<C>), f32, Cpu, T>;
            type Error = CpuError;

            fn try_forward(
                &self,
                x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
            ) -> Result<Self::Output, CpuError> {
                const {
                    assert!(P > 0, concat!($name, ": the pool size must be at least 1"));
                    assert!(S > 0, concat!($name, ": the stride must be at least 1"));
                }
                ops::pool2d(x, $kind, P, S, Pad::PADDING).map_err(|e| forward_error($name, e))
            }
        }
    };
}

spatial_pool!(MaxPool2D, PoolKind::Max, "MaxPool2D");
spatial_pool!(AvgPool2D, PoolKind::Avg, "AvgPool2D");

impl<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for GlobalAvgPool2D
{
    type Output = Tensor<(B, Const<C>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        ops::global_avg_pool2d(x).map_err(|e| forward_error("GlobalAvgPool2D", e))
    }
}

impl<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize, const CO: usize>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for DepthwiseMaxPool2D<CO>
{
    type Output = Tensor<(B, H, W, Const<CO>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        ops::depthwise_max_pool2d::<B, H, W, C, CO, T>(x)
            .map_err(|e| forward_error("DepthwiseMaxPool2D", e))
    }
}

impl<B: Dim, H: Dim, W: Dim, T: Tape<f32, Cpu>, const C: usize>
    Module<Tensor<(B, H, W, Const<C>), f32, Cpu, T>> for Flatten
{
    type Output = Tensor<(B, usize), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, H, W, Const<C>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        ops::flatten(x).map_err(|e| forward_error("Flatten", e))
    }
}
