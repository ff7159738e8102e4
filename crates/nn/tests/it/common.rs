//! Helpers shared by the integration tests: random data, tolerant comparison, central
//! finite differences.
#![allow(dead_code)]

use cnnkit_nn::prelude::*;
use rand::rngs::StdRng;
use rand::Rng;

pub fn random_vec(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

pub fn images<const C: usize>(dev: &Cpu, v: Vec<f32>, b: usize, h: usize, w: usize) -> Images<C> {
    dev.tensor_from_vec(v, (b, h, w, Const::<C>))
}

pub fn assert_close(actual: &[f32], expected: &[f32], rel: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    let scale = expected.iter().fold(1e-3f32, |m, v| m.max(v.abs()));
    for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= rel * scale,
            "{what}: element {i}: got {a}, expected {e} (tolerance {})",
            rel * scale
        );
    }
}

/// Central finite differences of `f` (a scalar function of a vector) at `v`.
pub fn finite_diff(v: &[f32], eps: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f32> {
    let mut p = v.to_vec();
    (0..v.len())
        .map(|i| {
            let orig = p[i];
            p[i] = orig + eps;
            let up = f(&p);
            p[i] = orig - eps;
            let down = f(&p);
            p[i] = orig;
            ((up - down) / (2.0 * eps as f64)) as f32
        })
        .collect()
}

pub fn dot(a: &[f32], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum()
}

/// Keras' padding for one axis, from TensorFlow's documented formula.
pub fn ref_pad(n: usize, k: usize, s: usize, same: bool) -> (usize, usize) {
    if same {
        let out = n.div_ceil(s);
        let total = ((out - 1) * s + k).saturating_sub(n);
        (out, total / 2)
    } else {
        ((n - k) / s + 1, 0)
    }
}
