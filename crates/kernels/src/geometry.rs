//! The geometry of a convolution or pooling window over NHWC images: Keras' `same` and
//! `valid` padding per axis ([`axis_geometry`]), and the sizes of one whole convolution
//! ([`ConvGeometry`]) or pooling ([`PoolGeometry`]), both laid out by [`Windows`].

use std::ops::Deref;

/// A size that a convolution or pooling cannot have (a zero stride, a kernel larger than a
/// `valid` input, ...): which setting, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GeometryError {
    /// The setting, e.g. `"stride"`.
    pub what: String,
    /// Why it is wrong and what to use instead.
    pub why: String,
}

impl GeometryError {
    /// An error about `what`, explained by `why`.
    pub fn new(what: impl Into<String>, why: impl Into<String>) -> Self {
        GeometryError {
            what: what.into(),
            why: why.into(),
        }
    }
}

impl std::fmt::Display for GeometryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid {}: {}", self.what, self.why)
    }
}

impl std::error::Error for GeometryError {}

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
/// use cnnkit_kernels::geometry::{axis_geometry, Padding};
/// // The lecture's first layer: 28 pixels, 7x7 kernel, "same" -> 28 outputs, 3 zeros each side.
/// let a = axis_geometry(28, 7, 1, Padding::Same).unwrap();
/// assert_eq!((a.output, a.pad_before, a.pad_after), (28, 3, 3));
/// // A 2x2 kernel with stride 2 on 5 inputs, "same": 3 outputs, the extra zero goes after.
/// let a = axis_geometry(5, 2, 2, Padding::Same).unwrap();
/// assert_eq!((a.output, a.pad_before, a.pad_after), (3, 0, 1));
/// // "valid" drops what does not fit: 7 inputs, 2x2 pooling -> 3 outputs.
/// assert_eq!(axis_geometry(7, 2, 2, Padding::Valid).unwrap().output, 3);
/// ```
pub fn axis_geometry(
    n: usize,
    k: usize,
    s: usize,
    padding: Padding,
) -> Result<AxisGeometry, GeometryError> {
    if k == 0 {
        return Err(GeometryError::new("kernel size", "it must be at least 1"));
    }
    if s == 0 {
        return Err(GeometryError::new("stride", "it must be at least 1"));
    }
    if n == 0 {
        return Err(GeometryError::new(
            "input size",
            "the input has no rows or columns",
        ));
    }
    match padding {
        Padding::Valid => {
            if k > n {
                return Err(GeometryError::new(
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

/// Output size of a transposed convolution along one axis: input size `n`, kernel `k`,
/// stride `s`, as Keras' `Conv2DTranspose` computes it with `output_padding=None`
/// (`compute_conv_transpose_output_length` in Keras 3, `deconv_output_length` in Keras 2):
///
/// * `valid`: `n * s + max(k - s, 0)`, which is `(n - 1) * s + k` when `k >= s`; with a
///   kernel smaller than the stride the last `s - k` rows receive no input (bias only).
/// * `same`: `n * s`.
///
/// Either way a convolution of an `m`-wide input (same kernel, stride and padding,
/// [`axis_geometry`]) has `n` outputs, so the transposed convolution is the input gradient
/// of that convolution. (Several `m` would do when `s > 1`; Keras picks this one.)
///
/// ```
/// use cnnkit_kernels::geometry::{transpose_output_size, Padding};
/// assert_eq!(transpose_output_size(16, 3, 2, Padding::Same).unwrap(), 32);
/// assert_eq!(transpose_output_size(16, 3, 2, Padding::Valid).unwrap(), 33);
/// assert_eq!(transpose_output_size(4, 1, 3, Padding::Valid).unwrap(), 12);
/// ```
pub fn transpose_output_size(
    n: usize,
    k: usize,
    s: usize,
    padding: Padding,
) -> Result<usize, GeometryError> {
    if k == 0 {
        return Err(GeometryError::new("kernel size", "it must be at least 1"));
    }
    if s == 0 {
        return Err(GeometryError::new("stride", "it must be at least 1"));
    }
    if n == 0 {
        return Err(GeometryError::new(
            "input size",
            "the input has no rows or columns",
        ));
    }
    Ok(match padding {
        Padding::Valid => n * s + k.saturating_sub(s),
        Padding::Same => n * s,
    })
}

/// How windows of one size and stride cover an image with Keras' padding: both axes of
/// [`axis_geometry`], shared by [`ConvGeometry`] and [`PoolGeometry`] (whose fields read
/// through to these by `Deref`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Windows {
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Window (kernel) height.
    pub k_h: usize,
    /// Window width.
    pub k_w: usize,
    /// Vertical stride.
    pub stride_h: usize,
    /// Horizontal stride.
    pub stride_w: usize,
    /// Zero rows added above the input.
    pub pad_top: usize,
    /// Zero columns added left of the input.
    pub pad_left: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
}

impl Windows {
    /// Lays out windows `(k_h, k_w)` moved by `(stride_h, stride_w)` over an `(in_h, in_w)`
    /// input with `padding`.
    ///
    /// ```
    /// use cnnkit_kernels::geometry::{Padding, Windows};
    /// // The lecture's first layer: 7x7 kernels, "same" on 28x28 -> 28x28, 3 zeros before.
    /// let w = Windows::new((28, 28), (7, 7), (1, 1), Padding::Same)?;
    /// assert_eq!((w.out_h, w.out_w, w.pad_top, w.pad_left), (28, 28, 3, 3));
    /// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
    /// ```
    pub fn new(
        (in_h, in_w): (usize, usize),
        (k_h, k_w): (usize, usize),
        (stride_h, stride_w): (usize, usize),
        padding: Padding,
    ) -> Result<Self, GeometryError> {
        let gh = axis_geometry(in_h, k_h, stride_h, padding)?;
        let gw = axis_geometry(in_w, k_w, stride_w, padding)?;
        Ok(Windows {
            in_h,
            in_w,
            k_h,
            k_w,
            stride_h,
            stride_w,
            pad_top: gh.pad_before,
            pad_left: gw.pad_before,
            out_h: gh.output,
            out_w: gw.output,
        })
    }

    /// True when every window lies entirely inside the input (no padding cell, no clipped
    /// window), as with `valid` padding or `same` padding that needs none.
    pub fn windows_inside(&self) -> bool {
        self.pad_top == 0
            && self.pad_left == 0
            && self.k_h > 0
            && self.k_w > 0
            && (self.out_h == 0 || (self.out_h - 1) * self.stride_h + self.k_h <= self.in_h)
            && (self.out_w == 0 || (self.out_w - 1) * self.stride_w + self.k_w <= self.in_w)
    }
}

/// Everything about the sizes of one convolution: the batch, the channels, and the
/// [`Windows`] of its kernels (`g.k_h`, `g.out_w`, ... read through to them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input channels.
    pub in_c: usize,
    /// Output channels (number of filters).
    pub out_c: usize,
    /// Kernel positions, padding and output size.
    pub windows: Windows,
}

impl Deref for ConvGeometry {
    type Target = Windows;
    fn deref(&self) -> &Windows {
        &self.windows
    }
}

impl ConvGeometry {
    /// Computes the output size and padding with Keras' rules (see [`axis_geometry`]).
    ///
    /// ```
    /// use cnnkit_kernels::geometry::{ConvGeometry, Padding};
    /// let g = ConvGeometry::new(32, (28, 28, 1), 64, (7, 7), (1, 1), Padding::Same)?;
    /// assert_eq!((g.out_h, g.out_w, g.patch_len()), (28, 28, 49));
    /// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
    /// ```
    pub fn new(
        batch: usize,
        (in_h, in_w, in_c): (usize, usize, usize),
        out_c: usize,
        kernel: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Self, GeometryError> {
        Ok(ConvGeometry {
            batch,
            in_c,
            out_c,
            windows: Windows::new((in_h, in_w), kernel, strides, padding)?,
        })
    }

    /// The same convolution for a batch of `batch` images.
    pub fn with_batch(&self, batch: usize) -> Self {
        ConvGeometry { batch, ..*self }
    }

    /// Elements of the input (`batch * in_h * in_w * in_c`).
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }

    /// Elements of the output (`batch * out_h * out_w * out_c`).
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.out_c
    }

    /// Elements of the weights (`k_h * k_w * in_c * out_c`).
    pub fn weight_len(&self) -> usize {
        self.patch_len() * self.out_c
    }

    /// Length of one receptive field, one row of im2col's matrix (`k_h * k_w * in_c`).
    pub fn patch_len(&self) -> usize {
        self.k_h * self.k_w * self.in_c
    }

    /// Number of output positions in the batch, the rows of im2col's matrix.
    pub fn rows(&self) -> usize {
        self.batch * self.out_h * self.out_w
    }

    /// True when the input itself is im2col's matrix: a 1x1 kernel with stride 1 and no
    /// padding.
    pub fn is_pointwise(&self) -> bool {
        self.k_h == 1
            && self.k_w == 1
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 0
            && self.pad_left == 0
    }

    /// True when the layer is a 3x3 convolution with stride 1 and one zero of padding on
    /// each side (Keras' `same`), the case of Winograd's F(2x2, 3x3).
    pub fn is_3x3_same_stride_1(&self) -> bool {
        self.k_h == 3
            && self.k_w == 3
            && self.stride_h == 1
            && self.stride_w == 1
            && self.pad_top == 1
            && self.pad_left == 1
            && self.out_h == self.in_h
            && self.out_w == self.in_w
    }

    /// Floating-point operations of the forward pass as a direct convolution (2 per
    /// multiply-add).
    pub fn forward_flops(&self) -> f64 {
        2.0 * self.rows() as f64 * self.patch_len() as f64 * self.out_c as f64
    }
}

/// Sizes of one spatial pooling: the batch, the channels (unchanged), and the [`Windows`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Channels (unchanged by spatial pooling).
    pub c: usize,
    /// Window positions, padding and output size.
    pub windows: Windows,
}

impl Deref for PoolGeometry {
    type Target = Windows;
    fn deref(&self) -> &Windows {
        &self.windows
    }
}

impl PoolGeometry {
    /// Output size and padding with Keras' rules.
    ///
    /// ```
    /// use cnnkit_kernels::geometry::{Padding, PoolGeometry};
    /// let g = PoolGeometry::new(1, (7, 7, 3), (2, 2), (2, 2), Padding::Valid)?;
    /// assert_eq!((g.out_h, g.out_w, g.output_len()), (3, 3, 27));
    /// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
    /// ```
    pub fn new(
        batch: usize,
        (in_h, in_w, c): (usize, usize, usize),
        window: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Self, GeometryError> {
        Ok(PoolGeometry {
            batch,
            c,
            windows: Windows::new((in_h, in_w), window, strides, padding)?,
        })
    }

    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.c
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.c
    }
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
    fn a_transposed_convolution_inverts_the_output_size_of_its_convolution() {
        for n in 1..30 {
            for k in 1..8 {
                for s in 1..5 {
                    for padding in [Padding::Same, Padding::Valid] {
                        let m = transpose_output_size(n, k, s, padding).unwrap();
                        let back = axis_geometry(m, k, s, padding).unwrap();
                        assert_eq!(back.output, n, "n={n} k={k} s={s} {padding}");
                    }
                }
            }
        }
        assert!(transpose_output_size(3, 3, 0, Padding::Same).is_err());
        assert!(transpose_output_size(0, 3, 1, Padding::Valid).is_err());
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
}
