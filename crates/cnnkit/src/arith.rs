//! The arithmetic of convolution layers that the lecture does by hand: output sizes,
//! Keras' `same` padding, parameter counts, memory, and receptive fields.
//!
//! Introduced in `notebooks/02_convolution_layer.ipynb` (output sizes) and
//! `notebooks/03_filters_feature_maps.ipynb` (parameters and memory).

use crate::error::{Error, Result};

/// Zero padding of a convolution or pooling layer, with Keras' meaning.
///
/// * `Valid`: no padding; windows that would stick out of the input are dropped, so some
///   rows and columns at the bottom and right may be ignored.
/// * `Same`: zeros are added so that the output has `ceil(n / stride)` positions. When the
///   padding needed is odd, the extra row or column goes to the bottom or right, as in
///   Keras and TensorFlow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// No padding (Keras `padding="valid"`, the default).
    Valid,
    /// Zero padding that keeps `ceil(n / stride)` outputs (Keras `padding="same"`).
    Same,
}

impl Padding {
    /// The Keras spelling: `"valid"` or `"same"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Padding::Valid => "valid",
            Padding::Same => "same",
        }
    }
}

impl std::fmt::Display for Padding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one spatial axis (height or width) of a convolution or pooling window is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AxisGeometry {
    /// Input size along the axis.
    pub input: usize,
    /// Window (kernel) size.
    pub kernel: usize,
    /// Step between windows.
    pub stride: usize,
    /// Zeros added before the first input (top or left).
    pub pad_before: usize,
    /// Zeros added after the last input (bottom or right).
    pub pad_after: usize,
    /// Number of output positions.
    pub output: usize,
}

/// Lays out one axis: output size and padding for input size `n`, kernel `k`, stride `s`.
///
/// Formulas (Keras/TensorFlow):
/// * `valid`: `out = floor((n - k) / s) + 1`, no padding (an error if `k > n`).
/// * `same`: `out = ceil(n / s)`, total padding `max((out - 1) * s + k - n, 0)`, of which
///   `floor(total / 2)` goes before and the rest after.
///
/// ```
/// use cnnkit::arith::{axis_geometry, Padding};
/// // The lecture's first layer: 28 pixels, 7x7 kernel, "same" -> 28 outputs, 3 zeros each side.
/// let a = axis_geometry(28, 7, 1, Padding::Same).unwrap();
/// assert_eq!((a.output, a.pad_before, a.pad_after), (28, 3, 3));
/// // A 2x2 kernel with stride 2 on 5 inputs, "same": 3 outputs, the extra zero goes after.
/// let a = axis_geometry(5, 2, 2, Padding::Same).unwrap();
/// assert_eq!((a.output, a.pad_before, a.pad_after), (3, 0, 1));
/// // "valid" drops what does not fit: 7 inputs, 2x2 pooling -> 3 outputs.
/// assert_eq!(axis_geometry(7, 2, 2, Padding::Valid).unwrap().output, 3);
/// ```
pub fn axis_geometry(n: usize, k: usize, s: usize, padding: Padding) -> Result<AxisGeometry> {
    if k == 0 {
        return Err(Error::invalid("kernel size", "it must be at least 1"));
    }
    if s == 0 {
        return Err(Error::invalid("stride", "it must be at least 1"));
    }
    if n == 0 {
        return Err(Error::invalid(
            "input size",
            "the input has no rows or columns",
        ));
    }
    match padding {
        Padding::Valid => {
            if k > n {
                return Err(Error::invalid(
                    "kernel size",
                    format!(
                        "a {k}-wide window does not fit into an input of size {n} with \
                         padding=\"valid\"; use padding=\"same\" or a smaller kernel"
                    ),
                ));
            }
            Ok(AxisGeometry {
                input: n,
                kernel: k,
                stride: s,
                pad_before: 0,
                pad_after: 0,
                output: (n - k) / s + 1,
            })
        }
        Padding::Same => {
            let output = n.div_ceil(s);
            let total = ((output - 1) * s + k).saturating_sub(n);
            Ok(AxisGeometry {
                input: n,
                kernel: k,
                stride: s,
                pad_before: total / 2,
                pad_after: total - total / 2,
                output,
            })
        }
    }
}

/// Output size along one axis (see [`axis_geometry`]).
///
/// ```
/// use cnnkit::arith::{output_size, Padding};
/// assert_eq!(output_size(28, 3, 1, Padding::Valid).unwrap(), 26);
/// assert_eq!(output_size(28, 3, 2, Padding::Same).unwrap(), 14);
/// ```
pub fn output_size(n: usize, k: usize, s: usize, padding: Padding) -> Result<usize> {
    Ok(axis_geometry(n, k, s, padding)?.output)
}

/// Number of trainable parameters of a `Conv2D` layer: `(k_h * k_w * c_in + 1) * c_out`
/// (one weight per kernel cell and input channel, plus one bias, for each filter).
///
/// ```
/// // The lecture's first layer: 64 filters of 7x7 on one channel.
/// assert_eq!(cnnkit::arith::conv_params(7, 7, 1, 64), 3_200);
/// ```
pub fn conv_params(k_h: usize, k_w: usize, c_in: usize, c_out: usize) -> usize {
    (k_h * k_w * c_in + 1) * c_out
}

/// Number of trainable parameters of a `Dense` layer: `(n_in + 1) * n_out`.
///
/// ```
/// assert_eq!(cnnkit::arith::dense_params(2304, 128), 295_040);
/// ```
pub fn dense_params(n_in: usize, n_out: usize) -> usize {
    (n_in + 1) * n_out
}

/// Bytes taken by `count` 32-bit floats.
///
/// ```
/// // A 150x100x200 feature-map stack in float32: 12 MB.
/// assert_eq!(cnnkit::arith::f32_bytes(150 * 100 * 200), 12_000_000);
/// ```
pub fn f32_bytes(count: usize) -> usize {
    count * std::mem::size_of::<f32>()
}

/// Formats a byte count the way the lecture speaks: `"12.0 MB"` (decimal units).
///
/// ```
/// assert_eq!(cnnkit::arith::human_bytes(12_000_000), "12.0 MB");
/// assert_eq!(cnnkit::arith::human_bytes(512), "512 B");
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
/// use cnnkit::arith::{receptive_field, Window};
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

    /// Brute force: count windows whose start lies inside the padded input.
    fn brute(n: usize, k: usize, s: usize, pad_before: usize, pad_after: usize) -> usize {
        let padded = n + pad_before + pad_after;
        (0..padded)
            .step_by(s)
            .filter(|&start| start + k <= padded)
            .count()
    }

    #[test]
    fn same_and_valid_match_brute_force_and_keras_rule() {
        for n in 1..40 {
            for k in 1..8 {
                for s in 1..5 {
                    let same = axis_geometry(n, k, s, Padding::Same).unwrap();
                    assert_eq!(same.output, n.div_ceil(s), "n={n} k={k} s={s}");
                    assert_eq!(
                        brute(n, k, s, same.pad_before, same.pad_after),
                        same.output,
                        "same n={n} k={k} s={s}"
                    );
                    assert!(same.pad_after >= same.pad_before);
                    assert!(same.pad_after - same.pad_before <= 1);
                    if k <= n {
                        let valid = axis_geometry(n, k, s, Padding::Valid).unwrap();
                        assert_eq!(valid.output, brute(n, k, s, 0, 0));
                    } else {
                        assert!(axis_geometry(n, k, s, Padding::Valid).is_err());
                    }
                }
            }
        }
    }

    #[test]
    fn zero_sizes_are_errors_with_a_reason() {
        let e = axis_geometry(5, 3, 0, Padding::Same)
            .unwrap_err()
            .to_string();
        assert!(e.contains("stride"), "{e}");
        let e = axis_geometry(2, 3, 1, Padding::Valid)
            .unwrap_err()
            .to_string();
        assert!(e.contains("same"), "{e}");
    }

    #[test]
    fn book_exercise_parameters() {
        // HOML exercise: 3x3 kernels, RGB input, 100/200/400 maps.
        let total =
            conv_params(3, 3, 3, 100) + conv_params(3, 3, 100, 200) + conv_params(3, 3, 200, 400);
        assert_eq!(total, 903_400);
    }
}
