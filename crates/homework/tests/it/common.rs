//! Hand-written answers the tests hand to the checkers: correct, or with one mistake made
//! on purpose.
//!
//! Each test file that needs these says `mod common;`; not every file uses every helper.
#![allow(dead_code)]

use cnnkit_homework::{Array1, Array2, Array4};
use cnnkit_nn::arith::{axis_geometry, Padding};

/// The mistakes [`conv_loops`] can make on purpose; `Mistakes::default()` makes none.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mistakes {
    /// Flips the kernel (a convolution in the mathematical sense).
    pub flip: bool,
    /// Leaves the bias out.
    pub no_bias: bool,
    /// Puts the extra zero of an odd `same` padding before (top, left) instead of after.
    pub extra_before: bool,
}

/// A straightforward 2-D convolution with loops, Keras' layouts and padding: correct unless
/// `mistakes` says otherwise.
pub fn conv_loops(
    x: &Array4<f32>,
    w: &Array4<f32>,
    b: &Array1<f32>,
    stride: usize,
    padding: Padding,
    mistakes: Mistakes,
) -> Option<Array4<f32>> {
    let (n, h, wd, c) = x.dim();
    let (kh, kw, _, o) = w.dim();
    let gh = axis_geometry(h, kh, stride, padding).ok()?;
    let gw = axis_geometry(wd, kw, stride, padding).ok()?;
    Some(Array4::from_shape_fn(
        (n, gh.output, gw.output, o),
        |(img, i, j, f)| {
            let mut sum = if mistakes.no_bias { 0.0 } else { b[f] };
            for di in 0..kh {
                for dj in 0..kw {
                    let (top, left) = if mistakes.extra_before {
                        (gh.pad_after, gw.pad_after)
                    } else {
                        (gh.pad_before, gw.pad_before)
                    };
                    let y = (i * stride + di) as isize - top as isize;
                    let xx = (j * stride + dj) as isize - left as isize;
                    if y < 0 || xx < 0 || y >= h as isize || xx >= wd as isize {
                        continue;
                    }
                    let (ki, kj) = if mistakes.flip {
                        (kh - 1 - di, kw - 1 - dj)
                    } else {
                        (di, dj)
                    };
                    for ch in 0..c {
                        sum += x[[img, y as usize, xx as usize, ch]] * w[[ki, kj, ch, f]];
                    }
                }
            }
            sum
        },
    ))
}

/// A correct `same` correlation of a grey image with one filter: [`conv_loops`] on one
/// image of one channel, one filter, no bias.
pub fn correlate_same(img: &Array2<f32>, k: &Array2<f32>) -> Option<Array2<f32>> {
    let ((h, w), (kh, kw)) = (img.dim(), k.dim());
    let x = Array4::from_shape_fn((1, h, w, 1), |(_, i, j, _)| img[[i, j]]);
    let w4 = Array4::from_shape_fn((kh, kw, 1, 1), |(i, j, _, _)| k[[i, j]]);
    let y = conv_loops(
        &x,
        &w4,
        &Array1::zeros(1),
        1,
        Padding::Same,
        Mistakes::default(),
    )?;
    Some(Array2::from_shape_fn((h, w), |(i, j)| y[[0, i, j, 0]]))
}
