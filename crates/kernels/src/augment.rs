//! Data augmentation of NHWC image batches: flips, affine resampling (rotation,
//! translation and zoom are one kernel with different matrices) and contrast, the kernels
//! behind Keras' `RandomFlip`, `RandomRotation`, `RandomTranslation`, `RandomZoom` and
//! `RandomContrast` layers.
//!
//! Every kernel takes one setting per image (a [`Flip`], a [`Transform`], a contrast
//! factor), so the caller draws the random numbers and the kernels stay deterministic.
//! Each output value is computed on its own from the input, so results do not depend on
//! the number of threads.
//!
//! # Coordinates
//!
//! Keras 3 and TensorFlow's `ImageProjectiveTransformV3` (which Keras' TensorFlow backend
//! calls from `keras/src/backend/tensorflow/image.py::affine_transform`) put the centre of
//! pixel `(row y, column x)` at the point `(x, y)`: the top-left pixel's centre is `(0, 0)`,
//! the bottom-right one's `(w - 1, h - 1)`, and the centre of the image is
//! `((w - 1) / 2, (h - 1) / 2)`. A [`Transform`] `[a0, a1, a2, b0, b1, b2]` maps an *output*
//! pixel to the *input* point it samples, `(a0 x + a1 y + a2, b0 x + b1 y + b2)` (the
//! inverse of the motion the image makes), as documented in `keras/src/ops/image.py`
//! (`affine_transform`, the first six of its eight numbers; the two projective ones are 0
//! for every Keras augmentation layer). The matrices [`rotation`], [`translation`] and
//! [`zoom`] are the ones Keras 3 builds (`_compute_affine_matrix` in
//! `base_image_preprocessing_layer.py`, `_get_translation_matrix` in
//! `random_translation.py`, `_get_zoom_matrix` in `random_zoom.py`).
//!
//! # Filling
//!
//! Points outside the input are filled as [`FillMode`] says, with TensorFlow's mapping
//! (`MapCoordinate` in `tensorflow/core/kernels/image/image_ops.h`): the coordinate is
//! mapped into the image first, then interpolated, so [`FillMode::Reflect`],
//! [`FillMode::Constant`] and [`FillMode::Nearest`] give TensorFlow 2.21's values (the
//! tests hold values produced by it). [`FillMode::Wrap`] follows the documented
//! `(a b c d | a b c d | a b c d)` exactly, blending the last and the first pixel across
//! the seam; TensorFlow's kernel, which copies scipy's legacy `wrap` (a period of
//! `len - 1` in its arithmetic), clamps there instead and goes wrong beyond one period.

use rayon::prelude::*;

/// Which axes to mirror one image along.
///
/// ```
/// use cnnkit_kernels::augment::Flip;
/// assert_eq!(Flip::NONE, Flip { horizontal: false, vertical: false });
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flip {
    /// Left and right swap (Keras `RandomFlip("horizontal")`).
    pub horizontal: bool,
    /// Top and bottom swap (Keras `RandomFlip("vertical")`).
    pub vertical: bool,
}

impl Flip {
    /// No flip.
    pub const NONE: Flip = Flip {
        horizontal: false,
        vertical: false,
    };
}

/// Mirrors each image of `x` (`flips.len()` images of `h x w x c`) as its [`Flip`] says.
///
/// ```
/// use cnnkit_kernels::augment::{flip, Flip};
/// // Two 1x3 images with one channel: the first mirrored, the second left alone.
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let mut out = [0.0; 6];
/// flip(&x, (1, 3, 1), &[Flip { horizontal: true, vertical: false }, Flip::NONE], &mut out);
/// assert_eq!(out, [3.0, 2.0, 1.0, 4.0, 5.0, 6.0]);
/// ```
pub fn flip(x: &[f32], (h, w, c): (usize, usize, usize), flips: &[Flip], out: &mut [f32]) {
    let row = w * c;
    assert_eq!(x.len(), flips.len() * h * row, "flip: input length");
    assert_eq!(out.len(), x.len(), "flip: output length");
    if out.is_empty() {
        return;
    }
    out.par_chunks_mut(row).enumerate().for_each(|(r, orow)| {
        let (b, y) = (r / h, r % h);
        let f = flips[b];
        let sy = if f.vertical { h - 1 - y } else { y };
        let src = &x[(b * h + sy) * row..][..row];
        if f.horizontal {
            for (o, s) in orow.chunks_mut(c).zip(src.chunks(c).rev()) {
                o.copy_from_slice(s);
            }
        } else {
            orow.copy_from_slice(src);
        }
    });
}

/// How a sample between pixel centres gets its value (Keras' `interpolation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Interpolation {
    /// The closest pixel (`"nearest"`; halves round away from zero, as C's `round`).
    Nearest,
    /// Weighted mean of the four surrounding pixels (`"bilinear"`, Keras' default).
    #[default]
    Bilinear,
}

/// How points outside the input are filled (Keras' `fill_mode`), shown for a row
/// `a b c d`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum FillMode {
    /// `d c b a | a b c d | d c b a`: mirrored about the edge of the last pixel (Keras'
    /// default for its augmentation layers).
    #[default]
    Reflect,
    /// `a b c d | a b c d | a b c d`: the opposite edge continues.
    Wrap,
    /// `k k k k | a b c d | k k k k`: a constant (Keras `fill_value`, 0 by default).
    Constant(f32),
    /// `a a a a | a b c d | d d d d`: the edge pixel repeats.
    Nearest,
}

impl FillMode {
    /// Keras' name: `reflect`, `wrap`, `constant`, `nearest`.
    ///
    /// ```
    /// assert_eq!(cnnkit_kernels::augment::FillMode::Constant(0.0).name(), "constant");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            FillMode::Reflect => "reflect",
            FillMode::Wrap => "wrap",
            FillMode::Constant(_) => "constant",
            FillMode::Nearest => "nearest",
        }
    }
}

/// The inverse map of an affine transform, `[a0, a1, a2, b0, b1, b2]`: output pixel
/// `(x, y)` samples the input at `(a0 x + a1 y + a2, b0 x + b1 y + b2)`, with pixel
/// centres at whole coordinates (see the [module documentation](self)).
pub type Transform = [f32; 6];

/// The transform that changes nothing.
pub const IDENTITY: Transform = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];

/// Rotation of an `h x w` image by `degrees` about its centre `((w - 1) / 2, (h - 1) / 2)`,
/// counter-clockwise on the screen for positive angles: Keras 3's `_compute_affine_matrix`
/// with `center_x = center_y = 0.5` and no shear, scale or translation, which
/// `RandomRotation` uses.
///
/// ```
/// use cnnkit_kernels::augment::rotation;
/// let t = rotation(90.0, 3, 3);
/// // The output's right-middle pixel (2, 1) shows the input's bottom-middle one (1, 2).
/// let (x, y) = (2.0, 1.0);
/// assert!((t[0] * x + t[1] * y + t[2] - 1.0).abs() < 1e-6);
/// assert!((t[3] * x + t[4] * y + t[5] - 2.0).abs() < 1e-6);
/// ```
pub fn rotation(degrees: f64, h: usize, w: usize) -> Transform {
    let (sin, cos) = degrees.to_radians().sin_cos();
    let (cx, cy) = (0.5 * (w as f64 - 1.0), 0.5 * (h as f64 - 1.0));
    let (a0, a1, b0, b1) = (cos, -sin, sin, cos);
    [
        a0 as f32,
        a1 as f32,
        (cx - cx * a0 - cy * a1) as f32,
        b0 as f32,
        b1 as f32,
        (cy - cx * b0 - cy * b1) as f32,
    ]
}

/// Translation that moves the image `dx` pixels right and `dy` pixels down (fractions
/// allowed): Keras 3's `_get_translation_matrix` of `RandomTranslation`, which draws
/// `dx = u * width`, `dy = v * height` for factors `u`, `v`.
///
/// ```
/// assert_eq!(cnnkit_kernels::augment::translation(2.0, -1.5), [1.0, 0.0, -2.0, 0.0, 1.0, 1.5]);
/// ```
pub fn translation(dx: f64, dy: f64) -> Transform {
    [1.0, 0.0, -dx as f32, 0.0, 1.0, -dy as f32]
}

/// Zoom of an `h x w` image about its centre that samples `zx` input pixels per output
/// pixel across and `zy` down: above 1 zooms out (the image shrinks), below 1 zooms in.
/// Keras 3's `_get_zoom_matrix` of `RandomZoom`, which draws `z = 1 + u` for a factor `u`.
///
/// ```
/// use cnnkit_kernels::augment::zoom;
/// assert_eq!(zoom(1.0, 1.0, 5, 7), cnnkit_kernels::augment::IDENTITY);
/// // Zooming in by 2 on a 5x5 image: the output's corner samples the input at (1, 1).
/// let t = zoom(0.5, 0.5, 5, 5);
/// assert_eq!((t[2], t[5]), (1.0, 1.0));
/// ```
pub fn zoom(zx: f64, zy: f64, h: usize, w: usize) -> Transform {
    let x_offset = (w as f64 - 1.0) / 2.0 * (1.0 - zx);
    let y_offset = (h as f64 - 1.0) / 2.0 * (1.0 - zy);
    [
        zx as f32,
        0.0,
        x_offset as f32,
        0.0,
        zy as f32,
        y_offset as f32,
    ]
}

/// Maps a sample coordinate into `0..len` as the fill mode says (TensorFlow's
/// `MapCoordinate`; exact periodic wrapping for [`FillMode::Wrap`]). `Constant` leaves it
/// alone: reading outside gives the fill value.
fn map_coordinate(v: f32, len: usize, fill: FillMode) -> f32 {
    let last = len as f32 - 1.0;
    match fill {
        FillMode::Reflect => {
            let mut v = v;
            if len <= 1 {
                return 0.0;
            }
            let sz2 = 2 * len as i64;
            if v < 0.0 {
                v += (sz2 * (-v / sz2 as f32) as i64) as f32;
                v = if v < -(len as f32) {
                    v + sz2 as f32
                } else {
                    -v - 1.0
                };
            } else if v > last {
                v -= (sz2 * (v / sz2 as f32) as i64) as f32;
                if v >= len as f32 {
                    v = sz2 as f32 - v - 1.0;
                }
            }
            v.clamp(0.0, last)
        }
        FillMode::Wrap => {
            if len <= 1 {
                0.0
            } else {
                // In 0..len (not clamped): between the last pixel and len the sample blends
                // the last pixel with the first, which `read` finds by wrapping.
                let r = v.rem_euclid(len as f32);
                if r >= len as f32 {
                    0.0
                } else {
                    r
                }
            }
        }
        FillMode::Constant(_) => v,
        FillMode::Nearest => v.clamp(0.0, last.max(0.0)),
    }
}

/// The offset of pixel `i` along an axis of `len` pixels, or `None` when it lies outside
/// (then the fill value is read). Wrap mode wraps the index; after [`map_coordinate`] the
/// other modes only step outside with a weight of zero, or in constant mode.
fn axis_index(i: f32, len: usize, fill: FillMode) -> Option<usize> {
    let i = i as i64;
    let len = len as i64;
    if let FillMode::Wrap = fill {
        Some(i.rem_euclid(len.max(1)) as usize)
    } else if (0..len).contains(&i) {
        Some(i as usize)
    } else {
        None
    }
}

/// Resamples each image of `x` (`transforms.len()` images of `h x w x c`) through its
/// [`Transform`]: output pixel `(x, y)` gets the input's value at the transformed point,
/// interpolated as `interpolation` says, with points outside filled as `fill` says.
/// Rotation, translation and zoom are this one kernel with the matrices of [`rotation`],
/// [`translation`] and [`zoom`]. All channels of a pixel use the same point.
///
/// This is TensorFlow's `ImageProjectiveTransformV3`, which Keras 3's TensorFlow backend
/// runs for `keras.ops.image.affine_transform`, with the conventions of the
/// [module documentation](self).
///
/// ```
/// use cnnkit_kernels::augment::{affine_transform, translation, FillMode, Interpolation};
/// // One 1x4 row moved one pixel right: the reflected border repeats `a`.
/// let x = [1.0, 2.0, 3.0, 4.0];
/// let mut out = [0.0; 4];
/// affine_transform(&x, (1, 4, 1), &[translation(1.0, 0.0)], Interpolation::Bilinear,
///                  FillMode::Reflect, &mut out);
/// assert_eq!(out, [1.0, 1.0, 2.0, 3.0]);
/// affine_transform(&x, (1, 4, 1), &[translation(1.0, 0.0)], Interpolation::Bilinear,
///                  FillMode::Constant(0.0), &mut out);
/// assert_eq!(out, [0.0, 1.0, 2.0, 3.0]);
/// ```
pub fn affine_transform(
    x: &[f32],
    (h, w, c): (usize, usize, usize),
    transforms: &[Transform],
    interpolation: Interpolation,
    fill: FillMode,
    out: &mut [f32],
) {
    let row = w * c;
    assert_eq!(
        x.len(),
        transforms.len() * h * row,
        "affine_transform: input length"
    );
    assert_eq!(out.len(), x.len(), "affine_transform: output length");
    if out.is_empty() {
        return;
    }
    let fill_value = match fill {
        FillMode::Constant(v) => v,
        // TensorFlow reads Keras' fill_value (0 by default) for the neighbours beyond the
        // edge, always with weight zero in these modes.
        _ => 0.0,
    };
    out.par_chunks_mut(row).enumerate().for_each(|(r, orow)| {
        let (b, oy) = (r / h, r % h);
        let t = &transforms[b];
        let img = &x[b * h * row..][..h * row];
        let pixel = |yi: Option<usize>, xi: Option<usize>| match (yi, xi) {
            (Some(yi), Some(xi)) => Some(&img[(yi * w + xi) * c..][..c]),
            _ => None,
        };
        let oyf = oy as f32;
        for (ox, o) in orow.chunks_mut(c).enumerate() {
            let oxf = ox as f32;
            let sx = map_coordinate(t[0] * oxf + t[1] * oyf + t[2], w, fill);
            let sy = map_coordinate(t[3] * oxf + t[4] * oyf + t[5], h, fill);
            match interpolation {
                Interpolation::Nearest => {
                    let p = pixel(
                        axis_index(sy.round(), h, fill),
                        axis_index(sx.round(), w, fill),
                    );
                    match p {
                        Some(p) => o.copy_from_slice(p),
                        None => o.fill(fill_value),
                    }
                }
                Interpolation::Bilinear => {
                    let (yf, xf) = (sy.floor(), sx.floor());
                    let (yc, xc) = (yf + 1.0, xf + 1.0);
                    let (y0, y1) = (axis_index(yf, h, fill), axis_index(yc, h, fill));
                    let (x0, x1) = (axis_index(xf, w, fill), axis_index(xc, w, fill));
                    let corners = [pixel(y0, x0), pixel(y0, x1), pixel(y1, x0), pixel(y1, x1)];
                    let read = |k: usize, ch: usize| corners[k].map_or(fill_value, |p| p[ch]);
                    for (ch, o) in o.iter_mut().enumerate() {
                        // TensorFlow's order of operations: along x on both rows, then y.
                        let top = (xc - sx) * read(0, ch) + (sx - xf) * read(1, ch);
                        let bottom = (xc - sx) * read(2, ch) + (sx - xf) * read(3, ch);
                        *o = (yc - sy) * top + (sy - yf) * bottom;
                    }
                }
            }
        }
    });
}

/// Changes the contrast of each image of `x` (`factors.len()` images of `h x w x c`):
/// every value becomes `(v - mean) * factor + mean`, with `mean` the mean of that image's
/// channel and `factor` the image's, then is clipped to `value_range`. Keras 3's
/// `RandomContrast` (`_adjust_contrast` and the `clip` to `value_range` in
/// `random_contrast.py`), which draws one factor per image.
///
/// The means are summed in `f64`, in pixel order, inside one image: the same for any
/// thread count.
///
/// # Panics
/// When `value_range` is not `(low, high)` with `low <= high` (callers check it first).
///
/// ```
/// use cnnkit_kernels::augment::adjust_contrast;
/// // One 1x2 image, mean 0.5: factor 2 doubles the distances to it, then 0..1 clips.
/// let mut out = [0.0; 2];
/// adjust_contrast(&[0.25, 0.75], (1, 2, 1), &[2.0], (0.0, 1.0), &mut out);
/// assert_eq!(out, [0.0, 1.0]);
/// adjust_contrast(&[0.25, 0.75], (1, 2, 1), &[0.5], (0.0, 1.0), &mut out);
/// assert_eq!(out, [0.375, 0.625]);
/// ```
pub fn adjust_contrast(
    x: &[f32],
    (h, w, c): (usize, usize, usize),
    factors: &[f32],
    (low, high): (f32, f32),
    out: &mut [f32],
) {
    let img = h * w * c;
    assert_eq!(
        x.len(),
        factors.len() * img,
        "adjust_contrast: input length"
    );
    assert_eq!(out.len(), x.len(), "adjust_contrast: output length");
    assert!(
        low <= high,
        "adjust_contrast: value_range must be (low, high) with low <= high, got ({low}, {high})"
    );
    if out.is_empty() {
        return;
    }
    out.par_chunks_mut(img)
        .zip(x.par_chunks(img))
        .zip(factors.par_iter())
        .for_each(|((o, xi), &f)| {
            let mut sums = vec![0.0f64; c];
            for px in xi.chunks(c) {
                for (s, &v) in sums.iter_mut().zip(px) {
                    *s += v as f64;
                }
            }
            let mean: Vec<f32> = sums.iter().map(|s| (s / (h * w) as f64) as f32).collect();
            for (op, xp) in o.chunks_mut(c).zip(xi.chunks(c)) {
                for ((o, &v), &m) in op.iter_mut().zip(xp).zip(&mean) {
                    *o = ((v - m) * f + m).clamp(low, high);
                }
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `batch x h x w x c` batch with values that are not linear in the position (a
    /// linear ramp would hide interpolation mistakes).
    fn batch(n: usize, h: usize, w: usize, c: usize) -> Vec<f32> {
        (0..n * h * w * c)
            .map(|i| ((i * 37 + 5) % 23) as f32 / 22.0)
            .collect()
    }

    fn assert_close(got: &[f32], want: &[f32], tol: f32, what: &str) {
        assert_eq!(got.len(), want.len(), "{what}: length");
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= tol,
                "{what}: value {i} is {g}, expected {w}"
            );
        }
    }

    #[test]
    fn flips_match_a_plain_loop() {
        let (n, h, w, c) = (4, 3, 5, 2);
        let x = batch(n, h, w, c);
        let flips = [
            Flip::NONE,
            Flip {
                horizontal: true,
                vertical: false,
            },
            Flip {
                horizontal: false,
                vertical: true,
            },
            Flip {
                horizontal: true,
                vertical: true,
            },
        ];
        let mut out = vec![0.0; x.len()];
        flip(&x, (h, w, c), &flips, &mut out);
        for (b, f) in flips.iter().enumerate() {
            for y in 0..h {
                for xx in 0..w {
                    let sy = if f.vertical { h - 1 - y } else { y };
                    let sx = if f.horizontal { w - 1 - xx } else { xx };
                    for ch in 0..c {
                        assert_eq!(
                            out[((b * h + y) * w + xx) * c + ch],
                            x[((b * h + sy) * w + sx) * c + ch],
                            "image {b} ({f:?}) at ({y}, {xx}, {ch})"
                        );
                    }
                }
            }
        }
    }

    /// The input extended beyond its edges as the fill mode documents it, index by
    /// index: `None` is the fill value.
    fn extended(i: i64, len: usize, fill: FillMode) -> Option<usize> {
        let n = len as i64;
        match fill {
            FillMode::Constant(_) => (0..n).contains(&i).then_some(i as usize),
            FillMode::Nearest => Some(i.clamp(0, n - 1) as usize),
            FillMode::Wrap => Some(i.rem_euclid(n) as usize),
            FillMode::Reflect => {
                // d c b a | a b c d | d c b a: period 2n, the second half mirrored.
                let m = i.rem_euclid(2 * n);
                Some(if m < n { m } else { 2 * n - 1 - m } as usize)
            }
        }
    }

    /// Bilinear interpolation of the extended input at each output pixel's transformed
    /// point, written from the definition: the four surrounding pixels weighted by the
    /// areas opposite them.
    fn reference_bilinear(
        x: &[f32],
        (h, w, c): (usize, usize, usize),
        transforms: &[Transform],
        fill: FillMode,
    ) -> Vec<f32> {
        let fill_value = match fill {
            FillMode::Constant(v) => v,
            _ => 0.0,
        };
        let mut out = Vec::with_capacity(x.len());
        for (b, t) in transforms.iter().enumerate() {
            for oy in 0..h {
                for ox in 0..w {
                    let (oxf, oyf) = (ox as f64, oy as f64);
                    let sx = t[0] as f64 * oxf + t[1] as f64 * oyf + t[2] as f64;
                    let sy = t[3] as f64 * oxf + t[4] as f64 * oyf + t[5] as f64;
                    let (x0, y0) = (sx.floor(), sy.floor());
                    let (fx, fy) = (sx - x0, sy - y0);
                    for ch in 0..c {
                        let mut v = 0.0f64;
                        for (dy, wy) in [(0, 1.0 - fy), (1, fy)] {
                            for (dx, wx) in [(0, 1.0 - fx), (1, fx)] {
                                let yi = extended(y0 as i64 + dy, h, fill);
                                let xi = extended(x0 as i64 + dx, w, fill);
                                let p = match (yi, xi) {
                                    (Some(yi), Some(xi)) => x[((b * h + yi) * w + xi) * c + ch],
                                    _ => fill_value,
                                };
                                v += wy * wx * p as f64;
                            }
                        }
                        out.push(v as f32);
                    }
                }
            }
        }
        out
    }

    const FILLS: [FillMode; 4] = [
        FillMode::Reflect,
        FillMode::Wrap,
        FillMode::Constant(0.25),
        FillMode::Nearest,
    ];

    fn check_against_reference(h: usize, w: usize, c: usize, transforms: &[Transform]) {
        let x = batch(transforms.len(), h, w, c);
        for fill in FILLS {
            let mut out = vec![0.0; x.len()];
            affine_transform(
                &x,
                (h, w, c),
                transforms,
                Interpolation::Bilinear,
                fill,
                &mut out,
            );
            let want = reference_bilinear(&x, (h, w, c), transforms, fill);
            assert_close(&out, &want, 1e-5, &format!("{h}x{w}x{c}, {fill:?}"));
        }
    }

    #[test]
    fn rotation_matches_the_reference_at_odd_sizes() {
        let (h, w) = (7, 9);
        let angles = [-37.0, 3.5, 61.0, 145.0, -170.0];
        let t: Vec<Transform> = angles.iter().map(|&a| rotation(a, h, w)).collect();
        check_against_reference(h, w, 3, &t);
        check_against_reference(5, 5, 1, &[rotation(23.0, 5, 5)]);
    }

    #[test]
    fn translation_matches_the_reference_at_odd_sizes() {
        // Up to more than a whole image away, so that reflection and wrapping go around.
        let shifts = [(1.37, -0.61), (-4.2, 2.9), (11.3, -8.45), (-13.7, 0.0)];
        let t: Vec<Transform> = shifts.iter().map(|&(dx, dy)| translation(dx, dy)).collect();
        check_against_reference(5, 7, 2, &t);
    }

    #[test]
    fn zoom_matches_the_reference_at_odd_sizes() {
        let zooms = [(1.17, 1.17), (0.83, 0.83), (1.9, 0.6), (0.5, 1.35)];
        let t: Vec<Transform> = zooms.iter().map(|&(zx, zy)| zoom(zx, zy, 9, 5)).collect();
        check_against_reference(9, 5, 3, &t);
    }

    #[test]
    fn nearest_interpolation_takes_the_closest_pixel_of_the_extended_input() {
        // Points away from the half-pixel ties, where rounding before or after mapping
        // would differ.
        let (h, w, c) = (5, 7, 2);
        let t = [
            rotation(17.0, h, w),
            translation(-2.3, 3.2),
            zoom(1.21, 0.87, h, w),
        ];
        let x = batch(t.len(), h, w, c);
        for fill in FILLS {
            let mut out = vec![0.0; x.len()];
            affine_transform(&x, (h, w, c), &t, Interpolation::Nearest, fill, &mut out);
            let fill_value = if let FillMode::Constant(v) = fill {
                v
            } else {
                0.0
            };
            for (b, tb) in t.iter().enumerate() {
                for oy in 0..h {
                    for ox in 0..w {
                        let (oxf, oyf) = (ox as f32, oy as f32);
                        let sx = tb[0] * oxf + tb[1] * oyf + tb[2];
                        let sy = tb[3] * oxf + tb[4] * oyf + tb[5];
                        let yi = extended(sy.round() as i64, h, fill);
                        let xi = extended(sx.round() as i64, w, fill);
                        for ch in 0..c {
                            let want = match (yi, xi) {
                                (Some(yi), Some(xi)) => x[((b * h + yi) * w + xi) * c + ch],
                                _ => fill_value,
                            };
                            let got = out[((b * h + oy) * w + ox) * c + ch];
                            assert_eq!(got, want, "{fill:?}, image {b}, ({oy}, {ox}, {ch})");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn whole_pixel_translation_is_a_shifted_copy_with_a_reflected_border() {
        let (h, w, c) = (5, 6, 2);
        let (dx, dy) = (2i64, -1i64);
        let x = batch(1, h, w, c);
        let mut out = vec![0.0; x.len()];
        affine_transform(
            &x,
            (h, w, c),
            &[translation(dx as f64, dy as f64)],
            Interpolation::Bilinear,
            FillMode::Reflect,
            &mut out,
        );
        // Moving right by 2 and up by 1: columns 0, 1 show input columns 1, 0 (mirrored),
        // the last row shows the input's last row again.
        let reflect = |i: i64, n: usize| -> usize {
            if i < 0 {
                (-i - 1) as usize
            } else if i >= n as i64 {
                2 * n - 1 - i as usize
            } else {
                i as usize
            }
        };
        for y in 0..h {
            for xx in 0..w {
                let sy = reflect(y as i64 - dy, h);
                let sx = reflect(xx as i64 - dx, w);
                for ch in 0..c {
                    assert_eq!(
                        out[(y * w + xx) * c + ch],
                        x[(sy * w + sx) * c + ch],
                        "({y}, {xx}, {ch})"
                    );
                }
            }
        }
    }

    #[test]
    fn rotation_by_zero_and_zoom_by_one_are_the_identity() {
        let (h, w, c) = (7, 5, 3);
        let x = batch(2, h, w, c);
        for t in [rotation(0.0, h, w), zoom(1.0, 1.0, h, w)] {
            for interpolation in [Interpolation::Bilinear, Interpolation::Nearest] {
                for fill in FILLS {
                    let mut out = vec![0.0; x.len()];
                    affine_transform(&x, (h, w, c), &[t, t], interpolation, fill, &mut out);
                    assert_eq!(out, x, "{t:?}, {interpolation:?}, {fill:?}");
                }
            }
        }
    }

    #[test]
    fn rotation_by_180_degrees_flips_both_axes() {
        for (h, w) in [(5, 7), (6, 4)] {
            let c = 2;
            let x = batch(1, h, w, c);
            let mut flipped = vec![0.0; x.len()];
            let both = Flip {
                horizontal: true,
                vertical: true,
            };
            flip(&x, (h, w, c), &[both], &mut flipped);
            let mut rotated = vec![0.0; x.len()];
            affine_transform(
                &x,
                (h, w, c),
                &[rotation(180.0, h, w)],
                Interpolation::Bilinear,
                FillMode::Reflect,
                &mut rotated,
            );
            // cos(180°) is -1 only up to 1e-16: a sample lands within 1e-6 of a centre.
            assert_close(&rotated, &flipped, 1e-5, &format!("{h}x{w}"));
        }
    }

    /// `RandomRotation`'s, `RandomZoom`'s and `RandomTranslation`'s matrices, and the
    /// values TensorFlow 2.21's `ImageProjectiveTransformV3` computes with them for a
    /// 5x7 image, from Keras 3.15.1 and TensorFlow 2.21 (the versions of
    /// `scripts/anchor-requirements.txt`):
    ///
    /// ```python
    /// H, W = 5, 7
    /// img = np.array([((y*W + x) * 37 % 11) / 10 for y in range(H) for x in range(W)],
    ///                np.float32).reshape(1, H, W, 1)
    /// z = lambda: np.zeros(1, np.float32)
    /// rot = keras.layers.RandomRotation(0.1)._compute_affine_matrix(
    ///     center_x=0.5, center_y=0.5, angle=np.array([30.0], np.float32),
    ///     translate_x=z(), translate_y=z(), scale=np.ones(1, np.float32),
    ///     shear_x=z(), shear_y=z(), height=H, width=W)
    /// zoom = keras.layers.RandomZoom(0.1)._get_zoom_matrix(
    ///     np.array([[1.3, 0.8]], np.float32), H, W)
    /// shift = keras.layers.RandomTranslation(0.1, 0.1)._get_translation_matrix(
    ///     np.array([[4.5, -2.75]], np.float32))
    /// far = ... _get_translation_matrix(np.array([[9.5, -6.25]], np.float32))
    /// tf.raw_ops.ImageProjectiveTransformV3(images=img, transforms=t, output_shape=[H, W],
    ///     fill_value=0.5 if mode == "CONSTANT" else 0.0, interpolation=interp,
    ///     fill_mode=mode)
    /// ```
    #[rustfmt::skip]
    const TENSORFLOW: [(&str, &str, &str, [f32; 35]); 12] = [
        ("rot30", "REFLECT", "BILINEAR", [0.597407, 0.612435, 0.15359, 0.366025, 0.462436, 0.637822, 0.416025, 0.36077, 0.67439, 0.481347, 0.356699, 0.526795, 0.804775, 0.680385, 0.46077, 0.812435, 0.579904, 0.2, 0.370096, 0.39282, 0.48923, 0.416987, 0.474167, 0.570577, 0.593301, 0.508142, 0.491377, 0.0392303, 0.239231, 0.430642, 0.19282, 0.839231, 0.393782, 0.59282, 0.294779]),
        ("rot30", "CONSTANT", "BILINEAR", [0.5, 0.530127, 0.233975, 0.366025, 0.462436, 0.637822, 0.466249, 0.411731, 0.67439, 0.481347, 0.356699, 0.526795, 0.804775, 0.662693, 0.46077, 0.812435, 0.579904, 0.2, 0.370096, 0.39282, 0.48923, 0.425129, 0.474167, 0.570577, 0.593301, 0.508142, 0.491377, 0.207884, 0.395191, 0.430642, 0.19282, 0.839231, 0.41843, 0.524871, 0.5]),
        ("rot30", "NEAREST", "BILINEAR", [0.56077, 0.612435, 0.15359, 0.366025, 0.462436, 0.637822, 0.416025, 0.36077, 0.67439, 0.481347, 0.356699, 0.526795, 0.804775, 0.680385, 0.46077, 0.812435, 0.579904, 0.2, 0.370096, 0.39282, 0.48923, 0.416987, 0.474167, 0.570577, 0.593301, 0.508142, 0.491377, 0.0392303, 0.239231, 0.430642, 0.19282, 0.839231, 0.393782, 0.59282, 0.281347]),
        ("zoom", "REFLECT", "BILINEAR", [0.24, 0.4, 0.612, 0.34, 0.42, 0.544, 0.44, 0.5, 0.66, 0.564, 0.6, 0.24, 0.628, 0.7, 0.1, 0.26, 0.78, 0.2, 0.72, 0.58, 0.3, 0.58, 0.388, 0.38, 0.68, 0.32, 0.708, 0.78, 0.4, 0.384, 0.64, 0.5, 0.382, 0.44, 0.6]),
        ("zoom", "CONSTANT", "BILINEAR", [0.474, 0.4, 0.612, 0.34, 0.42, 0.544, 0.494, 0.5, 0.66, 0.564, 0.6, 0.24, 0.628, 0.52, 0.46, 0.26, 0.78, 0.2, 0.72, 0.58, 0.48, 0.508, 0.388, 0.38, 0.68, 0.32, 0.708, 0.528, 0.49, 0.384, 0.64, 0.5, 0.382, 0.44, 0.51]),
        ("zoom", "NEAREST", "BILINEAR", [0.24, 0.4, 0.612, 0.34, 0.42, 0.544, 0.44, 0.5, 0.66, 0.564, 0.6, 0.24, 0.628, 0.7, 0.1, 0.26, 0.78, 0.2, 0.72, 0.58, 0.3, 0.58, 0.388, 0.38, 0.68, 0.32, 0.708, 0.78, 0.4, 0.384, 0.64, 0.5, 0.382, 0.44, 0.6]),
        ("shift", "REFLECT", "BILINEAR", [0.4375, 0.5875, 0.325, 0.3375, 0.55, 0.3375, 0.325, 0.4875, 0.6375, 0.65, 0.3875, 0.325, 0.3875, 0.65, 0.5, 0.65, 0.8, 0.4, 0.2, 0.4, 0.8, 0.4625, 0.6125, 0.35, 0.3625, 0.575, 0.3625, 0.35, 0.4125, 0.5625, 0.575, 0.3125, 0.25, 0.3125, 0.575]),
        ("shift", "CONSTANT", "BILINEAR", [0.5, 0.5, 0.5, 0.5, 0.525, 0.3375, 0.325, 0.5, 0.5, 0.5, 0.5, 0.4125, 0.3875, 0.65, 0.5, 0.5, 0.5, 0.5, 0.4625, 0.475, 0.575, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5]),
        ("shift", "NEAREST", "BILINEAR", [0.55, 0.55, 0.55, 0.55, 0.55, 0.3375, 0.325, 0.325, 0.325, 0.325, 0.325, 0.325, 0.3875, 0.65, 0.2, 0.2, 0.2, 0.2, 0.2, 0.4, 0.8, 0.2, 0.2, 0.2, 0.2, 0.2, 0.4, 0.8, 0.2, 0.2, 0.2, 0.2, 0.2, 0.4, 0.8]),
        ("far", "REFLECT", "BILINEAR", [0.425, 0.6875, 0.75, 0.6875, 0.425, 0.4375, 0.5875, 0.65, 0.6375, 0.425, 0.6375, 0.65, 0.3875, 0.5375, 0.325, 0.5875, 0.65, 0.5875, 0.325, 0.3375, 0.4875, 0.7, 0.55, 0.2, 0.55, 0.7, 0.3, 0.45, 0.575, 0.5625, 0.35, 0.5625, 0.575, 0.3125, 0.4625]),
        ("rot30", "REFLECT", "NEAREST", [0.4, 0.8, 0.1, 0.5, 0.4, 0.8, 0.3, 0.4, 0.8, 0.7, 0.0, 0.6, 1.0, 0.9, 0.6, 1.0, 0.9, 0.2, 0.1, 0.5, 0.4, 0.6, 0.5, 0.9, 0.8, 0.8, 0.7, 0.0, 0.1, 0.7, 0.0, 1.0, 0.3, 0.7, 0.0]),
        ("zoom", "CONSTANT", "NEAREST", [0.5, 0.0, 0.8, 0.1, 0.5, 0.2, 0.5, 0.5, 0.6, 0.3, 0.7, 0.0, 0.8, 0.5, 0.5, 0.1, 0.9, 0.2, 0.6, 0.3, 0.5, 0.5, 0.7, 0.4, 0.8, 0.1, 0.9, 0.5, 0.5, 0.2, 1.0, 0.3, 0.7, 0.4, 0.5]),
    ];

    #[test]
    fn matches_tensorflow_image_projective_transform_v3() {
        let (h, w) = (5, 7);
        let x: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        // The matrices Keras printed: [0.866025, -0.5, 1.40192, 0.5, 0.866025, -1.23205],
        // [1.3, 0, -0.9, 0, 0.8, 0.4], [1, 0, -4.5, 0, 1, 2.75].
        let keras_rot30 = [
            0.866_025_4,
            -0.5,
            1.401_923_9,
            0.5,
            0.866_025_4,
            -1.232_050_8,
        ];
        assert_close(&rotation(30.0, h, w), &keras_rot30, 1e-6, "rotation matrix");
        assert_close(
            &zoom(1.3, 0.8, h, w),
            &[1.3, 0.0, -0.9, 0.0, 0.8, 0.4],
            1e-6,
            "zoom matrix",
        );
        assert_eq!(translation(4.5, -2.75), [1.0, 0.0, -4.5, 0.0, 1.0, 2.75]);
        for (name, mode, interp, want) in TENSORFLOW {
            let t = match name {
                "rot30" => rotation(30.0, h, w),
                "zoom" => zoom(1.3, 0.8, h, w),
                "shift" => translation(4.5, -2.75),
                "far" => translation(9.5, -6.25),
                _ => unreachable!(),
            };
            let fill = match mode {
                "REFLECT" => FillMode::Reflect,
                "CONSTANT" => FillMode::Constant(0.5),
                "NEAREST" => FillMode::Nearest,
                _ => unreachable!(),
            };
            let interpolation = match interp {
                "BILINEAR" => Interpolation::Bilinear,
                _ => Interpolation::Nearest,
            };
            let mut out = vec![0.0; h * w];
            affine_transform(&x, (h, w, 1), &[t], interpolation, fill, &mut out);
            assert_close(&out, &want, 2e-6, &format!("{name} {mode} {interp}"));
        }
    }

    #[test]
    fn wrap_matches_tensorflow_for_whole_pixel_shifts() {
        // TensorFlow 2.21, as above, with transforms=[[1, 0, 2, 0, 1, -1, 0, 0]] and
        // fill_mode="WRAP": the image moved 2 pixels left and 1 down, wrapping around.
        #[rustfmt::skip]
        let want = [1.0, 0.3, 0.7, 0.0, 0.4, 0.2, 0.6, 0.8, 0.1, 0.5, 0.9, 0.2, 0.0, 0.4, 0.3, 0.7, 0.0, 0.4, 0.8, 0.6, 1.0, 0.9, 0.2, 0.6, 1.0, 0.3, 0.1, 0.5, 0.4, 0.8, 0.1, 0.5, 0.9, 0.7, 0.0];
        let (h, w) = (5, 7);
        let x: Vec<f32> = (0..h * w).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        let mut out = vec![0.0; h * w];
        let t = [1.0, 0.0, 2.0, 0.0, 1.0, -1.0];
        affine_transform(
            &x,
            (h, w, 1),
            &[t],
            Interpolation::Bilinear,
            FillMode::Wrap,
            &mut out,
        );
        assert_close(&out, &want, 1e-6, "wrap");
    }

    #[test]
    fn wrap_blends_the_last_and_the_first_pixel_across_the_seam() {
        // Where TensorFlow's kernel clamps to the first pixel (its scipy-style period),
        // the documented a b c d | a b c d gives the mean of d and a.
        let x = [1.0, 2.0, 4.0, 8.0];
        let mut out = [0.0; 4];
        let t = translation(-3.5, 0.0);
        affine_transform(
            &x,
            (1, 4, 1),
            &[t],
            Interpolation::Bilinear,
            FillMode::Wrap,
            &mut out,
        );
        assert_eq!(out, [4.5, 1.5, 3.0, 6.0]);
    }

    fn contrast_reference(
        x: &[f32],
        (h, w, c): (usize, usize, usize),
        factors: &[f32],
        (low, high): (f32, f32),
    ) -> Vec<f32> {
        let mut out = vec![0.0; x.len()];
        for (b, &f) in factors.iter().enumerate() {
            for ch in 0..c {
                let at = |p: usize| (b * h * w + p) * c + ch;
                let mean = (0..h * w).map(|p| x[at(p)] as f64).sum::<f64>() / (h * w) as f64;
                for p in 0..h * w {
                    let v = (x[at(p)] as f64 - mean) * f as f64 + mean;
                    out[at(p)] = v.clamp(low as f64, high as f64) as f32;
                }
            }
        }
        out
    }

    #[test]
    fn contrast_matches_the_reference_and_clips() {
        let (h, w, c) = (5, 3, 3);
        let factors = [0.8, 1.0, 1.7, 0.0];
        let x = batch(factors.len(), h, w, c);
        for range in [(0.0, 1.0), (0.2, 0.7)] {
            let mut out = vec![0.0; x.len()];
            adjust_contrast(&x, (h, w, c), &factors, range, &mut out);
            let want = contrast_reference(&x, (h, w, c), &factors, range);
            assert_close(&out, &want, 1e-6, &format!("range {range:?}"));
            assert!(out.iter().all(|v| (range.0..=range.1).contains(v)));
        }
        // Factor 1.7 pushes some values beyond 0..1: they are clipped, not kept.
        let mut out = vec![0.0; x.len()];
        adjust_contrast(&x, (h, w, c), &factors, (0.0, 1.0), &mut out);
        let img = h * w * c;
        assert!(out[2 * img..3 * img].contains(&1.0));
        assert!(out[2 * img..3 * img].contains(&0.0));
        // Factor 1 with a range that holds every value changes nothing; factor 0 leaves
        // each channel's mean.
        assert_close(&out[img..2 * img], &x[img..2 * img], 1e-6, "factor 1");
        let want = contrast_reference(&x, (h, w, c), &factors, (0.0, 1.0));
        assert_close(&out[3 * img..], &want[3 * img..], 1e-6, "factor 0");
    }

    #[test]
    #[should_panic(expected = "value_range must be (low, high) with low <= high")]
    fn contrast_refuses_an_empty_value_range() {
        adjust_contrast(&[0.5], (1, 1, 1), &[1.0], (1.0, 0.0), &mut [0.0]);
    }

    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let (h, w, c) = (19, 23, 3);
        let n = 6;
        let x = batch(n, h, w, c);
        let t: Vec<Transform> = (0..n)
            .map(|i| rotation(7.0 * i as f64 - 20.0, h, w))
            .collect();
        let factors: Vec<f32> = (0..n).map(|i| 0.7 + 0.1 * i as f32).collect();
        let flips: Vec<Flip> = (0..n)
            .map(|i| Flip {
                horizontal: i % 2 == 0,
                vertical: i % 3 == 0,
            })
            .collect();
        let run = || {
            let mut a = vec![0.0; x.len()];
            affine_transform(
                &x,
                (h, w, c),
                &t,
                Interpolation::Bilinear,
                FillMode::Reflect,
                &mut a,
            );
            let mut b = vec![0.0; x.len()];
            adjust_contrast(&x, (h, w, c), &factors, (0.0, 1.0), &mut b);
            let mut f = vec![0.0; x.len()];
            flip(&x, (h, w, c), &flips, &mut f);
            (a, b, f)
        };
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        assert_eq!(one.install(run), run());
    }

    #[test]
    fn empty_batches_are_fine() {
        let mut out: [f32; 0] = [];
        flip(&[], (3, 3, 1), &[], &mut out);
        affine_transform(
            &[],
            (3, 3, 1),
            &[],
            Interpolation::Bilinear,
            FillMode::Reflect,
            &mut out,
        );
        adjust_contrast(&[], (3, 3, 1), &[], (0.0, 1.0), &mut out);
    }
}
