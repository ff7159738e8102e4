//! # cnnkit-kernels
//!
//! The numeric kernels behind the layers of the chapter-14 CNN notebooks, on plain `f32`
//! slices in NHWC layout (batch, height, width, channels, as in Keras). They know nothing
//! about dfdx: `cnnkit-nn` wraps them into differentiable tensor operations. The notebooks
//! never call them directly (the `cnnkit` facade does not re-export them); the benchmark and
//! the tests do, and a curious student can read a fast convolution here one file at a time.
//!
//! | module | what it holds |
//! |---|---|
//! | [`geometry`] | Keras' `same`/`valid` padding, the sizes of a convolution or pooling |
//! | [`conv`] | convolution forward and backward: [`conv::select`] picks pointwise, Winograd F(2x2) or F(4x4), im2col or the direct kernels of first layers; [`conv::depthwise`] one filter per channel; [`conv::transpose`] the transposed convolution on the same plan |
//! | [`elementwise`] | the residual addition and the ReLU's gradient, in parallel |
//! | [`norm`] | batch normalization and local response normalization |
//! | [`augment`] | data augmentation: flips, affine resampling (rotation, translation, zoom) with Keras' fill modes, contrast |
//! | [`channels`] | concatenation along channels, channel-wise scaling, zero padding |
//! | [`pool`] | max, average, global average and depthwise max pooling |
//! | [`upsample`] | upsampling by whole factors, nearest neighbour or bilinear (Keras `UpSampling2D`) |
//! | [`matmul`] | the GEMM calls (`gemm` crate, AVX-512 or AVX2 chosen at run time) |
//! | [`simd`] | kernels compiled for AVX-512, AVX2+FMA and the baseline, chosen at run time |
//! | [`scratch`] | the memory policy: chunks, reused scratch buffers, allocator tuning |
//!
//! Every instruction set computes the same operations in the same order, so results are
//! identical to the bit whichever copy runs (the tests check this with
//! [`simd::for_each_instruction_set`]).
#![warn(missing_docs)]

pub mod augment;
pub mod channels;
pub mod conv;
pub mod elementwise;
pub mod geometry;
pub mod matmul;
pub mod norm;
pub mod pool;
pub mod scratch;
pub mod simd;
pub mod upsample;
