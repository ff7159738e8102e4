//! The arithmetic of convolution layers that the lecture does by hand: output sizes,
//! Keras' `same` padding, parameter counts, memory, and receptive fields.
//!
//! Introduced in `notebooks/02_convolution_layer.ipynb` (output sizes) and
//! `notebooks/03_filters_feature_maps.ipynb` (parameters and memory).

use crate::error::Result;

pub use cnnkit_kernels::geometry::{AxisGeometry, Padding};

/// Lays out one axis: output size and padding for input size `n`, kernel `k`, stride `s`.
///
/// Formulas (Keras/TensorFlow):
/// * `valid`: `out = floor((n - k) / s) + 1`, no padding (an error if `k > n`).
/// * `same`: `out = ceil(n / s)`, total padding `max((out - 1) * s + k - n, 0)`, of which
///   `floor(total / 2)` goes before and the rest after.
///
/// ```
/// use cnnkit_nn::arith::{axis_geometry, Padding};
/// // The lecture's first layer: 28 pixels, 7x7 kernel, "same" -> 28 outputs, 3 zeros each side.
/// let a = axis_geometry(28, 7, 1, Padding::Same)?;
/// assert_eq!((a.output, a.pad_before, a.pad_after), (28, 3, 3));
/// // "valid" drops what does not fit: 7 inputs, 2x2 pooling -> 3 outputs.
/// assert_eq!(axis_geometry(7, 2, 2, Padding::Valid)?.output, 3);
/// # Ok::<(), cnnkit_nn::Error>(())
/// ```
pub fn axis_geometry(n: usize, k: usize, s: usize, padding: Padding) -> Result<AxisGeometry> {
    Ok(cnnkit_kernels::geometry::axis_geometry(n, k, s, padding)?)
}

/// Output size along one axis (see [`axis_geometry`]).
///
/// ```
/// use cnnkit_nn::arith::{output_size, Padding};
/// assert_eq!(output_size(28, 3, 1, Padding::Valid).unwrap(), 26);
/// assert_eq!(output_size(28, 3, 2, Padding::Same).unwrap(), 14);
/// ```
pub fn output_size(n: usize, k: usize, s: usize, padding: Padding) -> Result<usize> {
    Ok(axis_geometry(n, k, s, padding)?.output)
}

/// Output size along one axis of a transposed convolution (Keras `Conv2DTranspose`,
/// `output_padding=None`): `n * s` for `same`, `n * s + max(k - s, 0)` for `valid` (which
/// is `(n - 1) * s + k` when the kernel is at least as large as the stride).
///
/// ```
/// use cnnkit_nn::arith::{transpose_output_size, Padding};
/// // 7x7 feature maps, 3x3 kernel, stride 2: 14 with "same", 15 with "valid".
/// assert_eq!(transpose_output_size(7, 3, 2, Padding::Same).unwrap(), 14);
/// assert_eq!(transpose_output_size(7, 3, 2, Padding::Valid).unwrap(), 15);
/// // A kernel smaller than the stride: Keras still gives n * s.
/// assert_eq!(transpose_output_size(7, 1, 2, Padding::Valid).unwrap(), 14);
/// ```
pub fn transpose_output_size(n: usize, k: usize, s: usize, padding: Padding) -> Result<usize> {
    Ok(cnnkit_kernels::geometry::transpose_output_size(
        n, k, s, padding,
    )?)
}

/// Where the windows of a transposed convolution start along one axis: input position `i`
/// adds its value times the kernel to output positions `i * s - before ..
/// i * s - before + k`, of which those in `0..transpose_output_size(..)` are kept.
///
/// `same`: `before = floor(max(k - s, 0) / 2)`, so of the `max(k - s, 0)` positions that
/// the full scatter has beyond `n * s`, the smaller half is cropped at the top (left) and
/// the rest at the bottom (right): the padding of the convolution it is the gradient of
/// (TensorFlow's `conv2d_transpose`). `valid`: `0`, nothing is cropped.
///
/// ```
/// use cnnkit_nn::arith::{transpose_crop_before, Padding};
/// assert_eq!(transpose_crop_before(3, 2, Padding::Same), 0); // 1 cropped: at the bottom
/// assert_eq!(transpose_crop_before(4, 2, Padding::Same), 1); // 2 cropped: 1 and 1
/// assert_eq!(transpose_crop_before(5, 1, Padding::Same), 2); // 4 cropped: 2 and 2
/// assert_eq!(transpose_crop_before(4, 2, Padding::Valid), 0);
/// ```
pub fn transpose_crop_before(k: usize, s: usize, padding: Padding) -> usize {
    match padding {
        Padding::Valid => 0,
        Padding::Same => k.saturating_sub(s) / 2,
    }
}

/// Number of trainable parameters of a `Conv2D` layer: `(k_h * k_w * c_in + 1) * c_out`
/// (one weight per kernel cell and input channel, plus one bias, for each filter).
///
/// ```
/// // The lecture's first layer: 64 filters of 7x7 on one channel.
/// assert_eq!(cnnkit_nn::arith::conv_params(7, 7, 1, 64), 3_200);
/// ```
pub fn conv_params(k_h: usize, k_w: usize, c_in: usize, c_out: usize) -> usize {
    (k_h * k_w * c_in + 1) * c_out
}

/// Number of trainable parameters of a `Dense` layer: `(n_in + 1) * n_out`.
///
/// ```
/// assert_eq!(cnnkit_nn::arith::dense_params(2304, 128), 295_040);
/// ```
pub fn dense_params(n_in: usize, n_out: usize) -> usize {
    (n_in + 1) * n_out
}

/// Bytes taken by `count` 32-bit floats.
///
/// ```
/// // A 150x100x200 feature-map stack in float32: 12 MB.
/// assert_eq!(cnnkit_nn::arith::f32_bytes(150 * 100 * 200), 12_000_000);
/// ```
pub fn f32_bytes(count: usize) -> usize {
    count * std::mem::size_of::<f32>()
}

/// Formats a byte count the way the lecture speaks: `"12.0 MB"` (decimal units).
///
/// ```
/// assert_eq!(cnnkit_nn::arith::human_bytes(12_000_000), "12.0 MB");
/// assert_eq!(cnnkit_nn::arith::human_bytes(512), "512 B");
/// ```
pub fn human_bytes(bytes: usize) -> String {
    const UNITS: [&str; 4] = ["KB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = "B";
    for u in UNITS {
        if v < 1000.0 {
            break;
        }
        v /= 1000.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

/// One layer of a stack, for [`receptive_field`]: its window size and stride.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Kernel or pool size.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
}

impl Window {
    /// A window of size `kernel` moved by `stride`.
    pub const fn new(kernel: usize, stride: usize) -> Self {
        Window { kernel, stride }
    }
}

/// Receptive field of one neuron after each layer of a stack: how many input pixels (along
/// one axis) it sees, and the distance in input pixels between neighbouring neurons (the
/// "jump").
///
/// Recurrence: `r_k = r_{k-1} + (kernel_k - 1) * j_{k-1}`, `j_k = j_{k-1} * stride_k`,
/// starting from `r_0 = 1`, `j_0 = 1`. Padding does not change these sizes.
///
/// ```
/// use cnnkit_nn::arith::{receptive_field, Window};
/// // Two 3x3 convolutions see 5x5 pixels; a 2x2 pooling with stride 2 then makes it 6 and
/// // doubles the jump.
/// let r = receptive_field(&[Window::new(3, 1), Window::new(3, 1), Window::new(2, 2)]);
/// assert_eq!(r, vec![(3, 1), (5, 1), (6, 2)]);
/// ```
pub fn receptive_field(layers: &[Window]) -> Vec<(usize, usize)> {
    let (mut r, mut j) = (1usize, 1usize);
    layers
        .iter()
        .map(|w| {
            r += (w.kernel.max(1) - 1) * j;
            j *= w.stride.max(1);
            (r, j)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn book_exercise_parameters() {
        // HOML exercise: 3x3 kernels, RGB input, 100/200/400 maps.
        let total =
            conv_params(3, 3, 3, 100) + conv_params(3, 3, 100, 200) + conv_params(3, 3, 200, 400);
        assert_eq!(total, 903_400);
    }
}
