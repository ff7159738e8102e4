//! The numeric kernels behind the layers, on plain `f32` slices in NHWC layout.
//!
//! These functions know nothing about dfdx: [`crate::ops`] wraps them into differentiable
//! tensor operations. They are public so that the benchmark and the tests can call them
//! directly, and so that a curious student can read a fast convolution in one file.

pub mod conv;
pub mod matmul;
pub mod pool;
pub mod winograd;
