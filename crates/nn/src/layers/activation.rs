//! Activations that a layer applies to its output (Keras' `activation=` argument), and
//! the same types as layers of their own (Keras' `Activation("relu")`), as after a batch
//! normalization: `(Conv2DNoBias<..>, BatchNorm<64>, Relu)`.

use dfdx::nn::modules::{Module, NonMutableModule, ZeroSizedModule};
use dfdx::prelude::*;

use super::describe::{push, Describe, FeatureShape, LayerRow};

/// An activation fused into a [`super::Conv2D`] or [`super::Dense`] layer.
pub trait Activation: Default + Clone + Copy + std::fmt::Debug + 'static {
    /// Keras' name: `"relu"`, `"tanh"`, `"sigmoid"` or `"linear"`.
    const NAME: &'static str;
    /// True for ReLU, which the convolution kernel applies in place.
    const RELU: bool;
    /// Applies the activation to a tensor.
    fn apply<S: Shape, T: Tape<f32, Cpu>>(
        x: Tensor<S, f32, Cpu, T>,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError>;
}

/// No activation (Keras `activation=None`, shown as `"linear"`). The default.
#[derive(Default, Clone, Copy, Debug)]
pub struct Identity;

/// Rectified linear unit, `max(x, 0)` (Keras `activation="relu"`).
#[derive(Default, Clone, Copy, Debug)]
pub struct Relu;

/// Hyperbolic tangent (Keras `activation="tanh"`), LeNet-5's activation.
#[derive(Default, Clone, Copy, Debug)]
pub struct Tanh;

/// Logistic sigmoid `1 / (1 + exp(-x))` (Keras `activation="sigmoid"`), the gate of a
/// squeeze-and-excitation block.
#[derive(Default, Clone, Copy, Debug)]
pub struct Sigmoid;

impl Activation for Identity {
    const NAME: &'static str = "linear";
    const RELU: bool = false;
    fn apply<S: Shape, T: Tape<f32, Cpu>>(
        x: Tensor<S, f32, Cpu, T>,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
        Ok(x)
    }
}

impl Activation for Relu {
    const NAME: &'static str = "relu";
    const RELU: bool = true;
    fn apply<S: Shape, T: Tape<f32, Cpu>>(
        x: Tensor<S, f32, Cpu, T>,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
        x.try_relu()
    }
}

impl Activation for Tanh {
    const NAME: &'static str = "tanh";
    const RELU: bool = false;
    fn apply<S: Shape, T: Tape<f32, Cpu>>(
        x: Tensor<S, f32, Cpu, T>,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
        x.try_tanh()
    }
}

impl Activation for Sigmoid {
    const NAME: &'static str = "sigmoid";
    const RELU: bool = false;
    fn apply<S: Shape, T: Tape<f32, Cpu>>(
        x: Tensor<S, f32, Cpu, T>,
    ) -> Result<Tensor<S, f32, Cpu, T>, CpuError> {
        x.try_sigmoid()
    }
}

/// The activations as layers of their own, Keras' `Activation(name)`:
///
/// ```
/// use cnnkit_nn::prelude::*;
/// let dev = Cpu::default();
/// let x = dev.tensor_from_vec(vec![-1.0f32, 2.0], (1usize, Const::<2>));
/// assert_eq!(Relu.forward(x.clone()).as_vec(), vec![0.0, 2.0]);
/// assert_eq!(Identity.forward(x).as_vec(), vec![-1.0, 2.0]);
/// ```
macro_rules! activation_layer {
    ($($t:ident),*) => {$(
        impl ZeroSizedModule for $t {}
        impl NonMutableModule for $t {}

        impl<S: Shape, T: Tape<f32, Cpu>> Module<Tensor<S, f32, Cpu, T>> for $t {
            type Output = Tensor<S, f32, Cpu, T>;
            type Error = CpuError;
            fn try_forward(&self, x: Tensor<S, f32, Cpu, T>) -> Result<Self::Output, CpuError> {
                if <$t as Activation>::RELU {
                    crate::ops::relu(x).map_err(|e| super::forward_error("Activation", e))
                } else {
                    <$t as Activation>::apply(x)
                }
            }
        }

    )*};
}

activation_layer!(Identity, Relu, Tanh, Sigmoid);

macro_rules! describe_activation {
    ($($t:ident),*) => {$(
        impl Describe for $t {
            fn describe(&self, input: FeatureShape, rows: &mut Vec<LayerRow>) -> crate::Result<FeatureShape> {
                Ok(push(rows, "Activation", "activation", input, 0, <$t as Activation>::NAME.to_string()))
            }
        }
    )*};
}

describe_activation!(Relu, Tanh, Sigmoid);

/// [`Identity`] changes nothing and adds no row to a summary (as the shortcut of a
/// [`super::Residual`], it is the plain skip).
impl Describe for Identity {
    fn describe(&self, input: FeatureShape, _: &mut Vec<LayerRow>) -> crate::Result<FeatureShape> {
        Ok(input)
    }
}
