//! Element-wise kernels of the ops that combine or gate whole feature maps: the ReLU and
//! its gradient, the residual addition, and the two fused (`relu(a + b)`, a residual
//! unit's last step). Each runs in parallel over blocks of
//! [`BLOCK`] elements and is compiled for every instruction set
//! ([`multiversion!`](crate::simd::multiversion)): a feature map of a ResNet's first stage
//! at batch 32 has 800,000 elements, and a plain loop over them keeps one of the cores
//! idle.
//!
//! Every element is computed alone, so the results do not depend on the thread count or
//! on the instruction set.

use rayon::prelude::*;

use crate::simd::multiversion;

/// Elements per rayon task: 64 KB of floats, a few L1 caches' worth.
pub const BLOCK: usize = 1 << 14;

/// `max(y, 0)`, keeping NaN as TensorFlow's relu does: `f32::max` would turn NaN into 0
/// and hide a broken input or weight. The one definition of the ReLU's value that the
/// kernels share (the convolutions' fused ReLU, batch normalization's, the residual
/// addition's).
#[inline(always)]
pub fn relu(y: f32) -> f32 {
    if y < 0.0 {
        0.0
    } else {
        y
    }
}

/// All ones where a ReLU with output (or input) `y` passes its gradient, `y > 0` or NaN,
/// else all zeros: a bit mask rather than a branch on the sign, which is mispredicted half
/// of the time (it cost 3 ms per step on the lecture's first layer) and does not
/// vectorise.
#[inline(always)]
pub fn relu_keep(y: f32) -> u32 {
    u32::from(y > 0.0 || y.is_nan()).wrapping_neg()
}

/// `g` where [`relu_keep`] gives ones, else 0.
#[inline(always)]
pub(crate) fn gate(g: f32, keep: u32) -> f32 {
    f32::from_bits(g.to_bits() & keep)
}

multiversion! {
    fn relu_block(v: &mut [f32]) {
        for e in v {
            *e = relu(*e);
        }
    }
}

multiversion! {
    fn relu_mask_block(d: &mut [f32], y: &[f32]) {
        for (d, &y) in d.iter_mut().zip(y) {
            *d = gate(*d, relu_keep(y));
        }
    }
}

multiversion! {
    fn add_relu_assign_block(a: &mut [f32], b: &[f32], keep: &mut [u8]) {
        if keep.is_empty() {
            for (x, y) in a.iter_mut().zip(b) {
                *x = relu(*x + y);
            }
            return;
        }
        for ((x, k), y) in a.iter_mut().zip(keep.iter_mut()).zip(b) {
            let s = *x + y;
            *x = relu(s);
            *k = relu_keep(s) as u8;
        }
    }
}

multiversion! {
    fn gated_add_assign_block(dst: &mut [f32], src: &[f32], keep: &[u8]) {
        for ((d, &s), &k) in dst.iter_mut().zip(src).zip(keep) {
            // `k` is 0 or 0xff: spread to 32 bits by sign extension.
            *d += gate(s, (k as i8) as i32 as u32);
        }
    }
}

multiversion! {
    fn gate_in_place_block(d: &mut [f32], keep: &[u8]) {
        for (d, &k) in d.iter_mut().zip(keep) {
            *d = gate(*d, (k as i8) as i32 as u32);
        }
    }
}

multiversion! {
    fn add_block(a: &[f32], b: &[f32], out: &mut [f32]) {
        for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
            *o = x + y;
        }
    }
}

multiversion! {
    fn add_assign_block(dst: &mut [f32], src: &[f32]) {
        for (d, s) in dst.iter_mut().zip(src) {
            *d += s;
        }
    }
}

multiversion! {
    fn relu_grad_add_block(dx: &mut [f32], dout: &[f32], y: &[f32]) {
        for ((d, &g), &y) in dx.iter_mut().zip(dout).zip(y) {
            *d += gate(g, relu_keep(y));
        }
    }
}

/// `out = a + b`, element by element.
///
/// ```
/// let mut out = [0.0; 3];
/// cnnkit_kernels::elementwise::add(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0], &mut out);
/// assert_eq!(out, [11.0, 22.0, 33.0]);
/// ```
///
/// # Panics
/// If the three lengths differ.
pub fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(
        a.len() == b.len() && a.len() == out.len(),
        "elementwise add: lengths {}, {} and {} differ",
        a.len(),
        b.len(),
        out.len()
    );
    out.par_chunks_mut(BLOCK)
        .zip(a.par_chunks(BLOCK).zip(b.par_chunks(BLOCK)))
        .for_each(|(o, (a, b))| add_block(a, b, o));
}

/// `dst += src`, element by element: a gradient that flows into a tensor unchanged (the
/// addition's).
///
/// ```
/// let mut d = [1.0, 1.0];
/// cnnkit_kernels::elementwise::add_assign(&mut d, &[2.0, -1.0]);
/// assert_eq!(d, [3.0, 0.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
pub fn add_assign(dst: &mut [f32], src: &[f32]) {
    assert_eq!(
        dst.len(),
        src.len(),
        "elementwise add_assign: lengths differ"
    );
    dst.par_chunks_mut(BLOCK)
        .zip(src.par_chunks(BLOCK))
        .for_each(|(d, s)| add_assign_block(d, s));
}

/// `dx += dout` where `y > 0` (or `y` is NaN), the gradient of a ReLU whose output is
/// `y`, added to `dx`.
///
/// ```
/// let mut dx = [0.5, 0.5];
/// cnnkit_kernels::elementwise::relu_grad_add(&mut dx, &[1.0, 1.0], &[0.0, 3.0]);
/// assert_eq!(dx, [0.5, 1.5]);
/// ```
///
/// # Panics
/// If the lengths differ.
pub fn relu_grad_add(dx: &mut [f32], dout: &[f32], y: &[f32]) {
    assert!(
        dx.len() == dout.len() && dx.len() == y.len(),
        "elementwise relu_grad_add: lengths differ"
    );
    dx.par_chunks_mut(BLOCK)
        .zip(dout.par_chunks(BLOCK).zip(y.par_chunks(BLOCK)))
        .for_each(|(d, (g, y))| relu_grad_add_block(d, g, y));
}

/// `v = relu(v)` on every element ([`relu`]: NaN stays NaN).
///
/// ```
/// let mut v = [-1.0, 2.0, f32::NAN];
/// cnnkit_kernels::elementwise::relu_in_place(&mut v);
/// assert_eq!(v[..2], [0.0, 2.0]);
/// assert!(v[2].is_nan());
/// ```
pub fn relu_in_place(v: &mut [f32]) {
    v.par_chunks_mut(BLOCK).for_each(relu_block);
}

/// The gradient through a ReLU whose output is `y`: `d = 0` wherever `y <= 0`, in place.
///
/// ```
/// let mut d = [1.0, 1.0];
/// cnnkit_kernels::elementwise::relu_mask_in_place(&mut d, &[0.0, 3.0]);
/// assert_eq!(d, [0.0, 1.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
pub fn relu_mask_in_place(d: &mut [f32], y: &[f32]) {
    assert_eq!(
        d.len(),
        y.len(),
        "elementwise relu_mask_in_place: lengths differ"
    );
    d.par_chunks_mut(BLOCK)
        .zip(y.par_chunks(BLOCK))
        .for_each(|(d, y)| relu_mask_block(d, y));
}

/// `a = relu(a + b)` in one pass, and, unless `keep` is empty, in `keep` a byte per
/// element that is `0xff` where the sum passes its gradient (see [`relu_keep`]) and 0
/// where it does not: the last step of a residual unit, whose backward pass then needs a
/// quarter of the output's memory instead of the output ([`gated_add_assign`]).
///
/// ```
/// let (mut a, mut keep) = ([1.0, -2.0, 0.5], [0u8; 3]);
/// cnnkit_kernels::elementwise::add_relu_assign(&mut a, &[1.0, 1.0, -0.5], &mut keep);
/// assert_eq!((a, keep), ([2.0, 0.0, 0.0], [0xff, 0, 0]));
/// ```
///
/// # Panics
/// If the lengths differ (an empty `keep` aside).
pub fn add_relu_assign(a: &mut [f32], b: &[f32], keep: &mut [u8]) {
    let n = a.len();
    assert!(
        b.len() == n && (keep.is_empty() || keep.len() == n),
        "elementwise add_relu_assign: lengths {n}, {} and {} differ",
        b.len(),
        keep.len()
    );
    if keep.is_empty() {
        a.par_chunks_mut(BLOCK)
            .zip(b.par_chunks(BLOCK))
            .for_each(|(a, b)| add_relu_assign_block(a, b, &mut []));
    } else {
        a.par_chunks_mut(BLOCK)
            .zip(keep.par_chunks_mut(BLOCK))
            .zip(b.par_chunks(BLOCK))
            .for_each(|((a, k), b)| add_relu_assign_block(a, b, k));
    }
}

/// `dst += src` where `keep` is `0xff` (as [`add_relu_assign`] wrote it), the gradient of
/// `relu(a + b)` added into the gradient of `a` or of `b`.
///
/// ```
/// let mut d = [1.0, 1.0];
/// cnnkit_kernels::elementwise::gated_add_assign(&mut d, &[5.0, 5.0], &[0xff, 0]);
/// assert_eq!(d, [6.0, 1.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
pub fn gated_add_assign(dst: &mut [f32], src: &[f32], keep: &[u8]) {
    assert!(
        dst.len() == src.len() && dst.len() == keep.len(),
        "elementwise gated_add_assign: lengths differ"
    );
    dst.par_chunks_mut(BLOCK)
        .zip(src.par_chunks(BLOCK).zip(keep.par_chunks(BLOCK)))
        .for_each(|(d, (s, k))| gated_add_assign_block(d, s, k));
}

/// `d = 0` where `keep` is 0 (as [`add_relu_assign`] wrote it), in place: the gradient of
/// `relu(a + b)` with respect to the sum, for a fused op that passes it on to both paths.
///
/// ```
/// let mut d = [3.0, 4.0];
/// cnnkit_kernels::elementwise::gate_in_place(&mut d, &[0xff, 0]);
/// assert_eq!(d, [3.0, 0.0]);
/// ```
///
/// # Panics
/// If the lengths differ.
pub fn gate_in_place(d: &mut [f32], keep: &[u8]) {
    assert!(
        d.len() == keep.len(),
        "elementwise gate_in_place: lengths {} and {} differ",
        d.len(),
        keep.len()
    );
    d.par_chunks_mut(BLOCK)
        .zip(keep.par_chunks(BLOCK))
        .for_each(|(d, k)| gate_in_place_block(d, k));
}
