//! Activations that a layer applies to its output (Keras' `activation=` argument).

use dfdx::prelude::*;

/// An activation fused into a [`super::Conv2D`] or [`super::Dense`] layer.
pub trait Activation: Default + Clone + Copy + std::fmt::Debug + 'static {
    /// Keras' name: `"relu"` or `"linear"`.
    const NAME: &'static str;
    /// True for ReLU, which the convolution kernel applies in place.
    const RELU: bool;
    /// Applies the activation to a tensor (used by [`super::Dense`]).
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
