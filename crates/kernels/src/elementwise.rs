//! Element-wise kernels of the ops that combine or gate whole feature maps: the residual
//! addition and the ReLU's gradient. Each runs in parallel over blocks of
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
            // A bit mask rather than a branch on the sign (mispredicted half of the time);
            // NaN passes its gradient as TensorFlow's relu does.
            let keep = u32::from(y > 0.0 || y.is_nan()).wrapping_neg();
            *d += f32::from_bits(g.to_bits() & keep);
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
