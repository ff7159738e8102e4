//! Upsampling of NHWC images by whole factors (Keras `UpSampling2D`), forward and backward.
//!
//! * [`Interpolation::Nearest`] (Keras' default): every pixel becomes a block of
//!   `size_h x size_w` copies (Keras repeats rows, then columns).
//! * [`Interpolation::Bilinear`] (`interpolation="bilinear"`): TensorFlow's
//!   `tf.image.resize(x, (h * size_h, w * size_w), "bilinear")`, which Keras calls, with
//!   half-pixel centres: output pixel `o` samples the input at `(o + 0.5) / size - 0.5`,
//!   between the two nearest input pixels, clamped to the image at the borders. For
//!   `size = 2` the weights along an axis are `(0.25, 0.75)` and `(0.75, 0.25)`.
//!
//! Both are linear maps; their backward passes add the adjoint (each output gradient goes
//! back to the input pixels it was made of, with the same weights).

use rayon::prelude::*;

pub use crate::augment::Interpolation;
use crate::geometry::GeometryError;

/// The sizes of one upsampling: `batch` images `(in_h, in_w, c)` to
/// `(in_h * size_h, in_w * size_w, c)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpsampleGeometry {
    /// Images in the batch.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels (unchanged).
    pub c: usize,
    /// Vertical factor.
    pub size_h: usize,
    /// Horizontal factor.
    pub size_w: usize,
}

impl UpsampleGeometry {
    /// Checks the factors (at least 1) and the image (not empty).
    ///
    /// ```
    /// use cnnkit_kernels::upsample::UpsampleGeometry;
    /// let g = UpsampleGeometry::new(2, (7, 7, 64), (2, 2))?;
    /// assert_eq!((g.out_h(), g.out_w(), g.output_len()), (14, 14, 2 * 14 * 14 * 64));
    /// assert!(UpsampleGeometry::new(2, (7, 7, 64), (0, 2)).is_err());
    /// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
    /// ```
    pub fn new(
        batch: usize,
        (in_h, in_w, c): (usize, usize, usize),
        (size_h, size_w): (usize, usize),
    ) -> Result<Self, GeometryError> {
        if size_h == 0 || size_w == 0 {
            return Err(GeometryError::new(
                "upsampling size",
                "each factor must be at least 1",
            ));
        }
        if in_h == 0 || in_w == 0 {
            return Err(GeometryError::new(
                "input size",
                "the input has no rows or columns",
            ));
        }
        Ok(UpsampleGeometry {
            batch,
            in_h,
            in_w,
            c,
            size_h,
            size_w,
        })
    }

    /// Output height.
    pub fn out_h(&self) -> usize {
        self.in_h * self.size_h
    }

    /// Output width.
    pub fn out_w(&self) -> usize {
        self.in_w * self.size_w
    }

    /// Elements of the input.
    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.c
    }

    /// Elements of the output.
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h() * self.out_w() * self.c
    }
}

/// One output position along an axis of a bilinear upsampling: the two input positions it
/// mixes and the weight of the second, `out = x[lo] + (x[hi] - x[lo]) * frac`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tap {
    /// The input position at or before the sample point (clamped to 0).
    pub lo: usize,
    /// The input position after it (clamped to the last).
    pub hi: usize,
    /// The weight of `hi`, in `[0, 1)`.
    pub frac: f32,
}

/// The taps of every output position along an axis of `n` inputs upsampled `size` times,
/// as TensorFlow's `resize_bilinear` with half-pixel centres computes them.
///
/// ```
/// use cnnkit_kernels::upsample::bilinear_taps;
/// let t = bilinear_taps(3, 2);
/// assert_eq!((t[0].lo, t[0].hi), (0, 0)); // the border: clamped
/// assert_eq!((t[1].lo, t[1].hi, t[1].frac), (0, 1, 0.25));
/// assert_eq!((t[2].lo, t[2].hi, t[2].frac), (0, 1, 0.75));
/// assert_eq!((t[5].lo, t[5].hi), (2, 2));
/// ```
pub fn bilinear_taps(n: usize, size: usize) -> Vec<Tap> {
    let scale = 1.0 / size as f64;
    (0..n * size)
        .map(|o| {
            let at = (o as f64 + 0.5) * scale - 0.5;
            let floor = at.floor();
            Tap {
                lo: (floor.max(0.0) as usize).min(n - 1),
                hi: (at.ceil().max(0.0) as usize).min(n - 1),
                frac: (at - floor) as f32,
            }
        })
        .collect()
}

/// Upsamples `x` (`g.input_len()` elements) into `out` (`g.output_len()`, overwritten).
///
/// ```
/// use cnnkit_kernels::upsample::{upsample_forward, Interpolation, UpsampleGeometry};
/// let g = UpsampleGeometry::new(1, (1, 2, 1), (2, 2))?;
/// let mut out = vec![0.0; g.output_len()];
/// upsample_forward(&g, Interpolation::Nearest, &[1.0, 2.0], &mut out);
/// assert_eq!(out, [1.0, 1.0, 2.0, 2.0, 1.0, 1.0, 2.0, 2.0]);
/// upsample_forward(&g, Interpolation::Bilinear, &[1.0, 2.0], &mut out);
/// assert_eq!(out[..4], [1.0, 1.25, 1.75, 2.0]);
/// # Ok::<(), cnnkit_kernels::geometry::GeometryError>(())
/// ```
pub fn upsample_forward(g: &UpsampleGeometry, mode: Interpolation, x: &[f32], out: &mut [f32]) {
    assert_eq!(x.len(), g.input_len(), "upsample: input length");
    assert_eq!(out.len(), g.output_len(), "upsample: output length");
    let c = g.c;
    let (oh, ow) = (g.out_h(), g.out_w());
    if c == 0 || out.is_empty() {
        return;
    }
    let image = g.in_h * g.in_w * c;
    match mode {
        Interpolation::Nearest => {
            out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
                let (b, oy) = (r / oh, r % oh);
                let src = &x[b * image + (oy / g.size_h) * g.in_w * c..][..g.in_w * c];
                for (pixel, dst) in src.chunks_exact(c).zip(row.chunks_exact_mut(g.size_w * c)) {
                    for d in dst.chunks_exact_mut(c) {
                        d.copy_from_slice(pixel);
                    }
                }
            });
        }
        Interpolation::Bilinear => {
            let ty = bilinear_taps(g.in_h, g.size_h);
            let tx = bilinear_taps(g.in_w, g.size_w);
            out.par_chunks_mut(ow * c).enumerate().for_each(|(r, row)| {
                let (b, oy) = (r / oh, r % oh);
                let y = ty[oy];
                let top = &x[b * image + y.lo * g.in_w * c..][..g.in_w * c];
                let bottom = &x[b * image + y.hi * g.in_w * c..][..g.in_w * c];
                for (t, dst) in tx.iter().zip(row.chunks_exact_mut(c)) {
                    let (l, h) = (t.lo * c, t.hi * c);
                    for (ch, d) in dst.iter_mut().enumerate() {
                        // TensorFlow's order of operations: the two rows, then between them.
                        let up = top[l + ch] + (top[h + ch] - top[l + ch]) * t.frac;
                        let down = bottom[l + ch] + (bottom[h + ch] - bottom[l + ch]) * t.frac;
                        *d = up + (down - up) * y.frac;
                    }
                }
            });
        }
    }
}

/// Backward pass of [`upsample_forward`]: `dx += upsampleᵀ(dout)`. One rayon task per
/// input row (nearest) or per image (bilinear), each summing in a fixed order.
pub fn upsample_backward(g: &UpsampleGeometry, mode: Interpolation, dout: &[f32], dx: &mut [f32]) {
    assert_eq!(dout.len(), g.output_len(), "upsample backward: dout length");
    assert_eq!(dx.len(), g.input_len(), "upsample backward: dx length");
    let c = g.c;
    let (oh, ow) = (g.out_h(), g.out_w());
    if c == 0 || dx.is_empty() {
        return;
    }
    match mode {
        Interpolation::Nearest => {
            dx.par_chunks_mut(g.in_w * c)
                .enumerate()
                .for_each(|(r, row)| {
                    let (b, iy) = (r / g.in_h, r % g.in_h);
                    for dy in 0..g.size_h {
                        let oy = iy * g.size_h + dy;
                        let src = &dout[(b * oh + oy) * ow * c..][..ow * c];
                        for (d, block) in
                            row.chunks_exact_mut(c).zip(src.chunks_exact(g.size_w * c))
                        {
                            for s in block.chunks_exact(c) {
                                for (a, v) in d.iter_mut().zip(s) {
                                    *a += v;
                                }
                            }
                        }
                    }
                });
        }
        Interpolation::Bilinear => {
            let ty = bilinear_taps(g.in_h, g.size_h);
            let tx = bilinear_taps(g.in_w, g.size_w);
            let image = g.in_h * g.in_w * c;
            dx.par_chunks_mut(image).enumerate().for_each(|(b, img)| {
                let dout = &dout[b * oh * ow * c..][..oh * ow * c];
                for (y, drow) in ty.iter().zip(dout.chunks_exact(ow * c)) {
                    for (t, d) in tx.iter().zip(drow.chunks_exact(c)) {
                        // The weights of tl, tr, bl, br in the forward formula.
                        let (fx, fy) = (t.frac, y.frac);
                        let taps = [
                            (y.lo, t.lo, (1.0 - fx) * (1.0 - fy)),
                            (y.lo, t.hi, fx * (1.0 - fy)),
                            (y.hi, t.lo, (1.0 - fx) * fy),
                            (y.hi, t.hi, fx * fy),
                        ];
                        for (iy, ix, wgt) in taps {
                            let dst = &mut img[(iy * g.in_w + ix) * c..][..c];
                            for (a, v) in dst.iter_mut().zip(d) {
                                *a += wgt * v;
                            }
                        }
                    }
                }
            });
        }
    }
}
