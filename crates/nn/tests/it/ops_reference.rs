//! Every op's forward pass against a plain ndarray loop implementation written from the
//! definitions (not from the fast kernels), and every backward pass against central
//! finite differences, over several shapes, strides and paddings.

use crate::common::{assert_close, dot, finite_diff, images, random_vec, ref_pad};
use cnnkit_nn::prelude::*;
use ndarray::{Array2, Array4};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

// ---- reference implementations --------------------------------------------------------

/// Direct convolution: out[b, y, x, o] = bias[o] + sum over the window and channels.
fn ref_conv(
    x: &Array4<f32>,
    w: &Array4<f32>,
    bias: &[f32],
    s: usize,
    same: bool,
    relu: bool,
) -> Array4<f32> {
    let (b, h, wd, c) = x.dim();
    let (kh, kw, _, o) = w.dim();
    let (oh, pt) = ref_pad(h, kh, s, same);
    let (ow, pl) = ref_pad(wd, kw, s, same);
    let mut out = Array4::<f32>::zeros((b, oh, ow, o));
    for n in 0..b {
        for oy in 0..oh {
            for ox in 0..ow {
                for f in 0..o {
                    let mut acc = bias[f] as f64;
                    for ky in 0..kh {
                        for kx in 0..kw {
                            let iy = (oy * s + ky) as isize - pt as isize;
                            let ix = (ox * s + kx) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= wd as isize {
                                continue;
                            }
                            for ch in 0..c {
                                acc += x[[n, iy as usize, ix as usize, ch]] as f64
                                    * w[[ky, kx, ch, f]] as f64;
                            }
                        }
                    }
                    let v = acc as f32;
                    out[[n, oy, ox, f]] = if relu { v.max(0.0) } else { v };
                }
            }
        }
    }
    out
}

/// Direct pooling; padded cells are ignored (never the max, not counted in the mean).
fn ref_pool(x: &Array4<f32>, k: usize, s: usize, same: bool, max: bool) -> Array4<f32> {
    let (b, h, wd, c) = x.dim();
    let (oh, pt) = ref_pad(h, k, s, same);
    let (ow, pl) = ref_pad(wd, k, s, same);
    let mut out = Array4::<f32>::zeros((b, oh, ow, c));
    for n in 0..b {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let mut vals = vec![];
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (oy * s + ky) as isize - pt as isize;
                            let ix = (ox * s + kx) as isize - pl as isize;
                            if iy >= 0 && ix >= 0 && iy < h as isize && ix < wd as isize {
                                vals.push(x[[n, iy as usize, ix as usize, ch]]);
                            }
                        }
                    }
                    out[[n, oy, ox, ch]] = if max {
                        vals.iter().cloned().fold(f32::NEG_INFINITY, f32::max)
                    } else {
                        vals.iter().sum::<f32>() / vals.len() as f32
                    };
                }
            }
        }
    }
    out
}

// ---- convolution -------------------------------------------------------------------------

fn check_conv<const C: usize, const O: usize, const K: usize>(
    b: usize,
    h: usize,
    w: usize,
    s: usize,
    padding: Padding,
    relu: bool,
    seed: u64,
) {
    let what = format!("conv C={C} O={O} K={K} {b}x{h}x{w} s={s} {padding} relu={relu}");
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let xv = random_vec(&mut rng, b * h * w * C);
    let wv = random_vec(&mut rng, K * K * C * O);
    let bv = random_vec(&mut rng, O);
    let weight: Tensor<Rank4<K, K, C, O>, f32, Cpu> =
        dev.tensor_from_vec(wv.clone(), Default::default());
    let bias: Tensor<Rank1<O>, f32, Cpu> = dev.tensor_from_vec(bv.clone(), Default::default());
    let same = padding == Padding::Same;

    // Forward against the reference.
    let xa = Array4::from_shape_vec((b, h, w, C), xv.clone()).unwrap();
    let wa = Array4::from_shape_vec((K, K, C, O), wv.clone()).unwrap();
    let expected = ref_conv(&xa, &wa, &bv, s, same, relu);
    let y = conv2d(
        images::<C>(&dev, xv.clone(), b, h, w),
        &weight,
        &bias,
        s,
        padding,
        relu,
    )
    .unwrap();
    let (_, oh, ow, _) = *y.shape();
    assert_eq!(
        (oh, ow),
        (expected.dim().1, expected.dim().2),
        "{what}: output size"
    );
    assert_close(&y.as_vec(), expected.as_slice().unwrap(), 1e-5, &what);

    // Backward: loss = sum(y * r), so dL/dy = r.
    let r = random_vec(&mut rng, y.shape().num_elements());
    let rt = dev.tensor_from_vec(r.clone(), *y.shape());
    let x = images::<C>(&dev, xv.clone(), b, h, w);
    let y = conv2d(x.leaky_trace(), &weight, &bias, s, padding, relu).unwrap();
    let grads = (y * rt).sum().backward();
    let (gx, gw, gb) = (
        grads.get(&x).as_vec(),
        grads.get(&weight).as_vec(),
        grads.get(&bias).as_vec(),
    );

    let loss = |xv: &[f32], wv: &[f32], bv: &[f32]| {
        let xa = Array4::from_shape_vec((b, h, w, C), xv.to_vec()).unwrap();
        let wa = Array4::from_shape_vec((K, K, C, O), wv.to_vec()).unwrap();
        dot(
            ref_conv(&xa, &wa, bv, s, same, relu).as_slice().unwrap(),
            &r,
        )
    };
    let eps = 1e-2;
    // With ReLU a perturbation can cross the kink; keep such cases out by checking only
    // without ReLU here (the ReLU mask is checked by the layer test below).
    if !relu {
        assert_close(
            &gx,
            &finite_diff(&xv, eps, |p| loss(p, &wv, &bv)),
            2e-3,
            &format!("{what} dx"),
        );
        assert_close(
            &gw,
            &finite_diff(&wv, eps, |p| loss(&xv, p, &bv)),
            2e-3,
            &format!("{what} dw"),
        );
        assert_close(
            &gb,
            &finite_diff(&bv, eps, |p| loss(&xv, &wv, p)),
            2e-3,
            &format!("{what} db"),
        );
    } else {
        // ReLU: the gradient must vanish exactly where the output is zero.
        let yv = conv2d(
            images::<C>(&dev, xv.clone(), b, h, w),
            &weight,
            &bias,
            s,
            padding,
            true,
        )
        .unwrap()
        .as_vec();
        let fd = finite_diff(&bv, 1e-4, |p| loss(&xv, &wv, p));
        assert_close(&gb, &fd, 2e-2, &format!("{what} db (relu)"));
        assert!(
            yv.contains(&0.0) && yv.iter().any(|v| *v > 0.0),
            "{what}: relu test needs both signs"
        );
    }
}

#[test]
fn conv2d_matches_reference_and_finite_differences() {
    let mut seed = 0;
    for padding in [Padding::Same, Padding::Valid] {
        for s in [1, 2, 3] {
            seed += 1;
            check_conv::<1, 2, 3>(2, 7, 6, s, padding, false, seed);
            check_conv::<3, 4, 2>(2, 6, 5, s, padding, false, seed);
            check_conv::<2, 3, 1>(1, 5, 5, s, padding, false, seed);
            check_conv::<2, 2, 4>(2, 7, 7, s, padding, false, seed);
            check_conv::<3, 2, 3>(2, 6, 7, s, padding, true, seed);
        }
    }
}

#[test]
fn conv2d_large_channels_match_reference() {
    // Wide enough that the GEMM uses its vectorised and multi-threaded paths.
    let dev = Cpu::seed_from_u64(7);
    let mut rng = StdRng::seed_from_u64(7);
    let (b, h, w) = (3, 9, 9);
    let xv = random_vec(&mut rng, b * h * w * 32);
    let wv = random_vec(&mut rng, 3 * 3 * 32 * 48);
    let bv = random_vec(&mut rng, 48);
    let weight: Tensor<Rank4<3, 3, 32, 48>, f32, Cpu> =
        dev.tensor_from_vec(wv.clone(), Default::default());
    let bias: Tensor<Rank1<48>, f32, Cpu> = dev.tensor_from_vec(bv.clone(), Default::default());
    let y = conv2d(
        images::<32>(&dev, xv.clone(), b, h, w),
        &weight,
        &bias,
        1,
        Padding::Same,
        true,
    )
    .unwrap();
    let xa = Array4::from_shape_vec((b, h, w, 32), xv).unwrap();
    let wa = Array4::from_shape_vec((3, 3, 32, 48), wv).unwrap();
    let expected = ref_conv(&xa, &wa, &bv, 1, true, true);
    assert_close(
        &y.as_vec(),
        expected.as_slice().unwrap(),
        1e-4,
        "conv 32->48",
    );
}

#[test]
fn conv2d_rejects_a_kernel_larger_than_a_valid_input() {
    let dev = Cpu::default();
    let weight: Tensor<Rank4<5, 5, 1, 1>, f32, Cpu> = dev.zeros();
    let bias: Tensor<Rank1<1>, f32, Cpu> = dev.zeros();
    let err = conv2d(
        images::<1>(&dev, vec![0.0; 9], 1, 3, 3),
        &weight,
        &bias,
        1,
        Padding::Valid,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("does not fit") && err.contains("same"),
        "{err}"
    );
}

// ---- pooling -------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn check_pool<const C: usize>(
    kind: PoolKind,
    b: usize,
    h: usize,
    w: usize,
    k: usize,
    s: usize,
    padding: Padding,
    seed: u64,
) {
    let what = format!("{kind:?} pool C={C} {b}x{h}x{w} k={k} s={s} {padding}");
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let xv = random_vec(&mut rng, b * h * w * C);
    let xa = Array4::from_shape_vec((b, h, w, C), xv.clone()).unwrap();
    let same = padding == Padding::Same;
    let max = kind == PoolKind::Max;
    let expected = ref_pool(&xa, k, s, same, max);
    let y = pool2d(images::<C>(&dev, xv.clone(), b, h, w), kind, k, s, padding).unwrap();
    assert_close(&y.as_vec(), expected.as_slice().unwrap(), 1e-6, &what);

    let r = random_vec(&mut rng, y.shape().num_elements());
    let rt = dev.tensor_from_vec(r.clone(), *y.shape());
    let x = images::<C>(&dev, xv.clone(), b, h, w);
    let grads = (pool2d(x.leaky_trace(), kind, k, s, padding).unwrap() * rt)
        .sum()
        .backward();
    let fd = finite_diff(&xv, 1e-3, |p| {
        let pa = Array4::from_shape_vec((b, h, w, C), p.to_vec()).unwrap();
        dot(ref_pool(&pa, k, s, same, max).as_slice().unwrap(), &r)
    });
    assert_close(&grads.get(&x).as_vec(), &fd, 5e-3, &format!("{what} dx"));
}

#[test]
fn pooling_matches_reference_and_finite_differences() {
    let mut seed = 100;
    for kind in [PoolKind::Max, PoolKind::Avg] {
        for padding in [Padding::Valid, Padding::Same] {
            for (k, s) in [(2, 2), (3, 2), (3, 1), (2, 3)] {
                seed += 1;
                check_pool::<1>(kind, 2, 7, 6, k, s, padding, seed);
                check_pool::<3>(kind, 1, 5, 8, k, s, padding, seed);
            }
        }
    }
}

/// Max pooling of `x` (`b x h x w x c`) written from the definition: for every output and
/// channel, the window's cells row by row, the first maximum (`>`), padded cells skipped.
/// Returns the maxima and the winners' indices within their image.
#[allow(clippy::too_many_arguments)]
fn ref_max_pool_with_argmax(
    x: &[f32],
    (b, h, w, c): (usize, usize, usize, usize),
    k: (usize, usize),
    s: (usize, usize),
    same: bool,
) -> (Vec<f32>, Vec<u32>) {
    let (oh, pt) = ref_pad(h, k.0, s.0, same);
    let (ow, pl) = ref_pad(w, k.1, s.1, same);
    let (mut out, mut arg) = (Vec::new(), Vec::new());
    for n in 0..b {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let mut best: Option<(f32, usize)> = None;
                    for ky in 0..k.0 {
                        for kx in 0..k.1 {
                            let iy = (oy * s.0 + ky) as isize - pt as isize;
                            let ix = (ox * s.1 + kx) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let i = (iy as usize * w + ix as usize) * c + ch;
                            let v = x[n * h * w * c + i];
                            if best.is_none_or(|(m, _)| v > m) {
                                best = Some((v, i));
                            }
                        }
                    }
                    let (v, i) = best.expect("every window has a cell inside the image");
                    out.push(v);
                    arg.push(i as u32);
                }
            }
        }
    }
    (out, arg)
}

/// `max_pool_forward` (its vectorised path for windows inside the image and its general
/// path for padded ones) gives exactly the maxima and first-maximum indices of the
/// definition (and the same maxima without the indices, as inference asks), with channels that are not a multiple of 16, odd sizes, ties, signed zeros
/// and NaNs, and the same bits with every instruction set.
#[test]
fn max_pooling_is_exact_for_every_instruction_set() {
    use cnnkit_kernels::pool::{max_pool_forward, PoolGeometry};
    use cnnkit_kernels::simd::for_each_instruction_set;
    let mut rng = StdRng::seed_from_u64(31);
    // (batch, h, w, c, window, stride)
    let cases = [
        (2, 28, 28, 64, (2, 2), (2, 2)),
        (3, 7, 7, 256, (2, 2), (2, 2)),
        (2, 9, 7, 20, (2, 2), (2, 2)),
        (1, 7, 9, 33, (3, 3), (2, 2)),
        (2, 6, 5, 1, (3, 3), (1, 1)),
        (1, 8, 11, 17, (2, 3), (3, 2)),
        (2, 5, 5, 48, (1, 1), (1, 1)),
        (1, 10, 6, 3, (3, 2), (2, 3)),
    ];
    for (b, h, w, c, k, st) in cases {
        // Few distinct values (ties), signed zeros and the odd NaN.
        let x: Vec<f32> = (0..b * h * w * c)
            .map(|_| match rng.gen_range(0..40) {
                0 => f32::NAN,
                1 => -0.0,
                2 => 0.0,
                v => (v % 7) as f32 - 3.0,
            })
            .collect();
        for padding in [Padding::Valid, Padding::Same] {
            let g = PoolGeometry::new(b, (h, w, c), k, st, padding).unwrap();
            let what = format!("max pool {b}x{h}x{w}x{c} k={k:?} s={st:?} {padding}");
            let (want, want_arg) =
                ref_max_pool_with_argmax(&x, (b, h, w, c), k, st, padding == Padding::Same);
            let want_bits: Vec<u32> = want.iter().map(|v| v.to_bits()).collect();
            for_each_instruction_set(|set| {
                let mut out = vec![0.0; g.output_len()];
                let mut arg = vec![0u32; g.output_len()];
                max_pool_forward(&g, &x, &mut out, &mut arg);
                let bits: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
                assert!(bits == want_bits, "{what}, {set:?}: maxima differ");
                assert!(arg == want_arg, "{what}, {set:?}: argmax differs");
                // Inference's values-only path, on a buffer of old values.
                let mut out = vec![f32::INFINITY; g.output_len()];
                max_pool_forward(&g, &x, &mut out, &mut []);
                let bits: Vec<u32> = out.iter().map(|v| v.to_bits()).collect();
                assert!(
                    bits == want_bits,
                    "{what}, {set:?}: values-only maxima differ"
                );
            });
        }
    }
}

#[test]
fn global_average_pooling_matches_mean_and_gradient() {
    let dev = Cpu::seed_from_u64(3);
    let mut rng = StdRng::seed_from_u64(3);
    let (b, h, w) = (2, 3, 4);
    let xv = random_vec(&mut rng, b * h * w * 5);
    let xa = Array4::from_shape_vec((b, h, w, 5), xv.clone()).unwrap();
    let expected: Array2<f32> = xa
        .mean_axis(ndarray::Axis(1))
        .unwrap()
        .mean_axis(ndarray::Axis(1))
        .unwrap();
    let x = images::<5>(&dev, xv.clone(), b, h, w);
    let y = global_avg_pool2d(x.leaky_trace()).unwrap();
    assert_close(
        &y.as_vec(),
        expected.as_slice().unwrap(),
        1e-6,
        "global avg",
    );
    let r = random_vec(&mut rng, b * 5);
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, Const::<5>)))
        .sum()
        .backward();
    let fd = finite_diff(&xv, 1e-2, |p| {
        let pa = Array4::from_shape_vec((b, h, w, 5), p.to_vec()).unwrap();
        let m = pa
            .mean_axis(ndarray::Axis(1))
            .unwrap()
            .mean_axis(ndarray::Axis(1))
            .unwrap();
        dot(m.as_slice().unwrap(), &r)
    });
    assert_close(&grads.get(&x).as_vec(), &fd, 2e-3, "global avg dx");
}

#[test]
fn depthwise_max_pooling_matches_reference_and_gradient() {
    let dev = Cpu::seed_from_u64(4);
    let mut rng = StdRng::seed_from_u64(4);
    let (b, h, w) = (2, 3, 3);
    let xv = random_vec(&mut rng, b * h * w * 6);
    let reference = |v: &[f32]| -> Vec<f32> {
        v.chunks(3)
            .map(|g| g.iter().cloned().fold(f32::NEG_INFINITY, f32::max))
            .collect()
    };
    let x = images::<6>(&dev, xv.clone(), b, h, w);
    let y = depthwise_max_pool2d::<_, _, _, 6, 2, _>(x.leaky_trace()).unwrap();
    assert_eq!(y.as_vec(), reference(&xv));
    let r = random_vec(&mut rng, b * h * w * 2);
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, h, w, Const::<2>)))
        .sum()
        .backward();
    let fd = finite_diff(&xv, 1e-3, |p| dot(&reference(p), &r));
    assert_close(&grads.get(&x).as_vec(), &fd, 5e-3, "depthwise dx");
}

#[test]
fn flatten_keeps_keras_order_and_passes_gradients() {
    let dev = Cpu::default();
    let v: Vec<f32> = (0..2 * 2 * 3 * 2).map(|i| i as f32).collect();
    let x = images::<2>(&dev, v.clone(), 2, 2, 3);
    let y = flatten(x.leaky_trace()).unwrap();
    assert_eq!(*y.shape(), (2, 12));
    assert_eq!(y.as_vec(), v);
    let grads = (y * 2.0).sum().backward();
    assert_eq!(grads.get(&x).as_vec(), vec![2.0; 24]);
}

#[test]
fn skipping_the_input_gradient_leaves_parameter_gradients_unchanged() {
    type M = (
        Conv2D<2, 3, 3, 1, Same, Relu>,
        MaxPool2D<2>,
        Conv2D<3, 4, 3, 2, Valid, Relu>,
    );
    let dev = Cpu::seed_from_u64(11);
    let model = dev.build_module::<M, f32>();
    let mut rng = StdRng::seed_from_u64(11);
    let x = images::<2>(&dev, random_vec(&mut rng, 2 * 8 * 8 * 2), 2, 8, 8);
    let full = model.forward(x.leaky_trace()).sum().backward();
    let skipped = cnnkit_nn::ops::without_input_gradient(|| model.forward(x.leaky_trace()))
        .sum()
        .backward();
    assert_eq!(
        full.get(&model.0.weight).as_vec(),
        skipped.get(&model.0.weight).as_vec()
    );
    assert_eq!(
        full.get(&model.2.weight).as_vec(),
        skipped.get(&model.2.weight).as_vec()
    );
    assert!(
        full.get(&x).as_vec().iter().any(|g| *g != 0.0),
        "the input gradient exists without the flag"
    );
}

/// Winograd's forward pass, input gradient and weight gradient of a 3x3 `same` layer
/// (`batch` images `hw.0 x hw.1 x c` to `o` channels) with tile `tile`, checked against
/// the plain loops (forward), im2col + col2im (input gradient) and colᵀ dZ (weight
/// gradient) to 1e-4 relative. Returns the three results.
fn check_winograd(
    tile: cnnkit_kernels::conv::Tile,
    rng: &mut StdRng,
    b: usize,
    hw: (usize, usize),
    c: usize,
    o: usize,
) -> [Vec<f32>; 3] {
    use cnnkit_kernels::conv::winograd;
    use cnnkit_kernels::conv::{col2im_add, im2col, ConvGeometry};
    use cnnkit_kernels::matmul::{matmul, MatRef};
    let (h, w_) = hw;
    let g = ConvGeometry::new(b, (h, w_, c), o, (3, 3), (1, 1), Padding::Same).unwrap();
    assert!(g.is_3x3_same_stride_1());
    let x = random_vec(rng, g.input_len());
    let w = random_vec(rng, g.weight_len());
    let bias = random_vec(rng, o);
    let mut out = vec![0.0; g.output_len()];
    winograd::forward(tile, &g, &x, &w, &bias, false, &mut out);
    let xa = Array4::from_shape_vec((b, h, w_, c), x.clone()).unwrap();
    let wa = Array4::from_shape_vec((3, 3, c, o), w.clone()).unwrap();
    let expected = ref_conv(&xa, &wa, &bias, 1, true, false);
    let what = format!("winograd {tile:?} forward {h}x{w_}x{c}->{o}");
    assert_close(&out, expected.as_slice().unwrap(), 1e-4, &what);

    let dz = random_vec(rng, g.output_len());
    let mut dx = vec![0.0; g.input_len()];
    winograd::input_grad(tile, &g, &dz, &w, &mut dx);
    let mut dcol = vec![0.0; g.rows() * g.patch_len()];
    matmul(
        &mut dcol,
        MatRef::row_major(&dz, g.rows(), o),
        MatRef::row_major(&w, g.patch_len(), o).t(),
        false,
    );
    let mut dx_ref = vec![0.0; g.input_len()];
    col2im_add(&g, &dcol, &mut dx_ref);
    let what = format!("winograd {tile:?} input gradient {h}x{w_}x{c}->{o}");
    assert_close(&dx, &dx_ref, 1e-4, &what);

    let mut dw = vec![0.0; g.weight_len()];
    winograd::weight_grad(tile, &g, &x, &dz, &mut dw);
    let mut col = vec![0.0; g.rows() * g.patch_len()];
    im2col(&g, &x, &mut col);
    let mut dw_ref = vec![0.0; g.weight_len()];
    matmul(
        &mut dw_ref,
        MatRef::row_major(&col, g.rows(), g.patch_len()).t(),
        MatRef::row_major(&dz, g.rows(), o),
        false,
    );
    let what = format!("winograd {tile:?} weight gradient {h}x{w_}x{c}->{o}");
    assert_close(&dw, &dw_ref, 1e-4, &what);
    [out, dx, dw]
}

/// Both Winograd tiles at the lecture's layer sizes and the small ResNet's agree with the
/// reference to 1e-4 relative.
#[test]
fn fast_paths_agree_with_reference_at_lecture_sizes() {
    use cnnkit_kernels::conv::Tile;
    let mut rng = StdRng::seed_from_u64(21);
    for tile in [Tile::F2, Tile::F4] {
        for (hw, c, o) in [
            (14, 64, 128),
            (14, 128, 128),
            (7, 128, 256),
            (7, 256, 256),
            (28, 32, 32),
        ] {
            check_winograd(tile, &mut rng, 2, (hw, hw), c, o);
        }
    }
}

/// Both Winograd tiles on odd sizes: images smaller than a tile, sizes that leave partial
/// tiles in either direction, one channel, and channel counts on both sides of a
/// 16-channel block.
#[test]
fn winograd_agrees_with_reference_at_odd_sizes() {
    use cnnkit_kernels::conv::Tile;
    let mut rng = StdRng::seed_from_u64(22);
    for tile in [Tile::F2, Tile::F4] {
        for (hw, c, o) in [
            ((1, 1), 3, 2),
            ((3, 2), 1, 1),
            ((5, 7), 17, 15),
            ((6, 6), 16, 16),
            ((9, 4), 33, 5),
            ((13, 11), 8, 40),
        ] {
            check_winograd(tile, &mut rng, 3, hw, c, o);
        }
    }
}

/// The Winograd transforms are compiled for AVX-512, AVX2 and the baseline
/// (`kernels::simd`); every copy this CPU can run agrees with the reference, and the
/// copies agree with each other to the bit (same operations in the same order), for both
/// tiles. The sizes mix full 16-channel blocks with left-over channels and odd image sizes.
#[test]
fn winograd_is_the_same_for_every_instruction_set() {
    use cnnkit_kernels::conv::Tile;
    use cnnkit_kernels::simd::for_each_instruction_set;
    for tile in [Tile::F2, Tile::F4] {
        let mut results = Vec::new();
        for_each_instruction_set(|set| {
            let mut rng = StdRng::seed_from_u64(23);
            let a = check_winograd(tile, &mut rng, 2, (9, 9), 20, 19);
            let b = check_winograd(tile, &mut rng, 1, (6, 5), 17, 33);
            results.push((set, a, b));
        });
        let (_, a0, b0) = &results[0];
        for (set, a, b) in &results[1..] {
            assert!(
                a == a0 && b == b0,
                "{tile:?}: {set:?} differs from the widest copy"
            );
        }
    }
}

/// Layers with few input channels (a first layer) compute the forward pass from the input
/// directly (`Algorithm::Direct`): it must match the plain loops with and without ReLU, and
/// every instruction set must give the same bits. The shapes mix 64-channel blocks with
/// left-over 16-channel blocks, odd and even kernels, strides and paddings.
#[test]
fn direct_forward_matches_reference_for_every_instruction_set() {
    use cnnkit_kernels::conv::{conv2d_forward, select, Algorithm, ConvGeometry};
    use cnnkit_kernels::simd::for_each_instruction_set;
    let mut rng = StdRng::seed_from_u64(31);
    // (batch, (h, w), c_in, c_out, kernel, stride, padding)
    let cases = [
        (2, (28, 28), 1, 64, 7, 1, Padding::Same),
        (2, (28, 28), 1, 32, 3, 1, Padding::Same),
        (3, (7, 9), 2, 80, 4, 2, Padding::Same),
        (2, (10, 9), 3, 48, 5, 1, Padding::Valid),
        (1, (6, 6), 4, 16, 3, 2, Padding::Same),
        (2, (2, 3), 1, 16, 5, 1, Padding::Same),
    ];
    for (b, (h, wd), c, o, k, s, padding) in cases {
        let g = ConvGeometry::new(b, (h, wd, c), o, (k, k), (s, s), padding).unwrap();
        assert_eq!(select(&g).forward, Algorithm::Direct, "{g:?}");
        let x = random_vec(&mut rng, g.input_len());
        let w = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, o);
        let xa = Array4::from_shape_vec((b, h, wd, c), x.clone()).unwrap();
        let wa = Array4::from_shape_vec((k, k, c, o), w.clone()).unwrap();
        for relu in [false, true] {
            let what =
                format!("direct forward b{b} {h}x{wd}x{c}->{o} k{k} s{s} {padding} relu {relu}");
            let expected = ref_conv(&xa, &wa, &bias, s, padding == Padding::Same, relu);
            let mut results = Vec::new();
            for_each_instruction_set(|set| {
                let mut out = vec![f32::NAN; g.output_len()];
                conv2d_forward(&g, &x, &w, &bias, relu, &mut out);
                assert_close(
                    &out,
                    expected.as_slice().unwrap(),
                    1e-5,
                    &format!("{what}, {set:?}"),
                );
                results.push((set, out));
            });
            let (_, first) = &results[0];
            for (set, out) in &results[1..] {
                assert!(out == first, "{what}: {set:?} differs from the widest copy");
            }
        }
    }
}

/// `conv2d_forward` overwrites its output whatever algorithm it picks: the ops hand it a
/// recycled buffer holding an earlier feature map, so a kernel that added into `out`
/// instead of writing it would return that map's values in its sum. Each algorithm runs
/// on a buffer of NaN and on a buffer of zeros and must give the same bits.
#[test]
fn every_forward_algorithm_overwrites_its_output() {
    use cnnkit_kernels::conv::{conv2d_forward, select, Algorithm, ConvGeometry, Tile};
    let mut rng = StdRng::seed_from_u64(32);
    // (batch, (h, w), c_in, c_out, kernel, stride, padding)
    let cases = [
        (2, (28, 28), 1, 32, 7, 1, Padding::Same),
        (2, (28, 28), 16, 16, 3, 1, Padding::Same),
        (2, (5, 6), 16, 16, 3, 1, Padding::Same),
        (2, (7, 7), 16, 24, 1, 1, Padding::Same),
        (2, (9, 8), 16, 24, 5, 2, Padding::Valid),
    ];
    let mut seen = Vec::new();
    for (b, (h, wd), c, o, k, st, padding) in cases {
        let g = ConvGeometry::new(b, (h, wd, c), o, (k, k), (st, st), padding).unwrap();
        let (x, w, bias) = (
            random_vec(&mut rng, g.input_len()),
            random_vec(&mut rng, g.weight_len()),
            random_vec(&mut rng, o),
        );
        for relu in [false, true] {
            let run = |fill: f32| {
                let mut out = vec![fill; g.output_len()];
                conv2d_forward(&g, &x, &w, &bias, relu, &mut out);
                out
            };
            let (from_nan, from_zero) = (run(f32::NAN), run(0.0));
            assert!(
                from_nan
                    .iter()
                    .zip(&from_zero)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{:?} relu {relu}: the output depends on the buffer's old contents",
                select(&g).forward
            );
        }
        seen.push(select(&g).forward);
    }
    for algorithm in [
        Algorithm::Direct,
        Algorithm::Winograd(Tile::F4),
        Algorithm::Winograd(Tile::F2),
        Algorithm::Pointwise,
        Algorithm::Im2col,
    ] {
        assert!(
            seen.contains(&algorithm),
            "no case runs {algorithm:?}: {seen:?}"
        );
    }
}

/// Layers with few input channels (the first layer: 7x7 filters on one channel) compute
/// the weight gradient from the input directly, without im2col: it must match colᵀ dZ,
/// with or without the input gradient (to the bit), and with every instruction set (to the
/// bit). The shapes mix 64-channel blocks with left-over 16-channel blocks, odd and even
/// kernels, strides and paddings; `relu` masks the gradient first.
#[test]
fn direct_weight_gradient_matches_im2col_for_every_instruction_set() {
    use cnnkit_kernels::conv::{col2im_add, conv2d_backward, im2col, ConvGeometry};
    use cnnkit_kernels::matmul::{matmul, MatRef};
    use cnnkit_kernels::simd::for_each_instruction_set;
    let mut rng = StdRng::seed_from_u64(32);
    // (batch, (h, w), c_in, c_out, kernel, stride, padding)
    let cases = [
        (2, (28, 28), 1, 64, 7, 1, Padding::Same),
        (3, (7, 9), 2, 80, 4, 2, Padding::Same),
        (2, (10, 9), 3, 48, 5, 1, Padding::Valid),
        (1, (6, 6), 4, 16, 3, 2, Padding::Same),
        (2, (8, 7), 1, 32, 3, 1, Padding::Valid),
    ];
    for (b, (h, wd), c, o, k, s, padding) in cases {
        let g = ConvGeometry::new(b, (h, wd, c), o, (k, k), (s, s), padding).unwrap();
        let what = format!("direct dW b{b} {h}x{wd}x{c}->{o} k{k} s{s} {padding}");
        let x = random_vec(&mut rng, g.input_len());
        let w = random_vec(&mut rng, g.weight_len());
        let out = random_vec(&mut rng, g.output_len());
        let dout = random_vec(&mut rng, g.output_len());
        // Reference: dZ = dout masked by out > 0, dW = colᵀ dZ, db = Σ dZ, dX = col2im(dZ Wᵀ).
        let dz: Vec<f32> = dout
            .iter()
            .zip(&out)
            .map(|(d, y)| if *y > 0.0 { *d } else { 0.0 })
            .collect();
        let (rows, l) = (g.rows(), g.patch_len());
        let mut col = vec![0.0; rows * l];
        im2col(&g, &x, &mut col);
        let mut dw_ref = vec![0.0; w.len()];
        let dzm = MatRef::row_major(&dz, rows, o);
        matmul(
            &mut dw_ref,
            MatRef::row_major(&col, rows, l).t(),
            dzm,
            false,
        );
        let db_ref: Vec<f32> = (0..o).map(|j| dz.iter().skip(j).step_by(o).sum()).collect();
        matmul(&mut col, dzm, MatRef::row_major(&w, l, o).t(), false);
        let mut dx_ref = vec![0.0; g.input_len()];
        col2im_add(&g, &col, &mut dx_ref);

        let mut results = Vec::new();
        for_each_instruction_set(|set| {
            let run = |with_dx: bool| {
                let mut d = dout.clone();
                let (mut dw, mut db) = (vec![0.5; w.len()], vec![0.5; o]);
                let mut dx = vec![0.0; g.input_len()];
                let dx_arg = if with_dx { Some(&mut dx[..]) } else { None };
                conv2d_backward(&g, &x, &w, &out, true, &mut d, dx_arg, &mut dw, &mut db);
                assert!(d == dz, "{what}: dout is masked in place");
                (dw, db, dx)
            };
            let (dw, db, _) = run(false);
            let (dw_with_dx, db_with_dx, dx) = run(true);
            assert!(
                dw == dw_with_dx && db == db_with_dx,
                "{what}, {set:?}: the input gradient changes dW"
            );
            let shifted = |v: &[f32]| v.iter().map(|e| e - 0.5).collect::<Vec<f32>>();
            assert_close(
                &shifted(&dw),
                &dw_ref,
                1e-4,
                &format!("{what}, {set:?}: dW"),
            );
            assert_close(
                &shifted(&db),
                &db_ref,
                1e-4,
                &format!("{what}, {set:?}: db"),
            );
            assert_close(&dx, &dx_ref, 1e-4, &format!("{what}, {set:?}: dX"));
            results.push((set, dw));
        });
        let (_, dw0) = &results[0];
        for (set, dw) in &results[1..] {
            assert!(dw == dw0, "{what}: {set:?} differs from the widest copy");
        }
    }
}

/// Batches whose scratch matrices exceed `CHUNK_FLOATS` are processed a few images at a
/// time (im2col chunks and Winograd chunks, with a shorter last chunk): the results must
/// match the reference and the whole-batch composition of the primitives.
#[test]
fn large_batches_are_processed_in_chunks() {
    use cnnkit_kernels::conv::{col2im_add, conv2d_backward, conv2d_forward, im2col, ConvGeometry};
    use cnnkit_kernels::matmul::{matmul, MatRef};
    let mut rng = StdRng::seed_from_u64(22);
    // (batch, size, c_in, c_out, kernel, stride): a Winograd layer (chunks of 4 images for
    // its tiles, 1 image for its im2col) and a strided 5x5 layer (chunks of 5 images).
    for (b, hw, c, o, k, s) in [(5, 32, 256, 8, 3, 1), (7, 64, 32, 8, 5, 2)] {
        let g = ConvGeometry::new(b, (hw, hw, c), o, (k, k), (s, s), Padding::Same).unwrap();
        assert!(
            cnnkit_kernels::scratch::images_per_chunk(b, hw * hw / (s * s) * k * k * c) < b,
            "the case must need several chunks"
        );
        let x = random_vec(&mut rng, g.input_len());
        let w = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, o);
        let mut out = vec![0.0; g.output_len()];
        conv2d_forward(&g, &x, &w, &bias, false, &mut out);
        let xa = Array4::from_shape_vec((b, hw, hw, c), x.clone()).unwrap();
        let wa = Array4::from_shape_vec((k, k, c, o), w.clone()).unwrap();
        let expected = ref_conv(&xa, &wa, &bias, s, true, false);
        let what = format!("chunked forward b{b} {hw}x{hw}x{c}->{o} k{k} s{s}");
        assert_close(&out, expected.as_slice().unwrap(), 1e-4, &what);

        let mut dz = random_vec(&mut rng, g.output_len());
        let (mut dx, mut dw, mut db) = (vec![0.0; g.input_len()], vec![0.0; w.len()], vec![0.0; o]);
        conv2d_backward(
            &g,
            &x,
            &w,
            &out,
            false,
            &mut dz,
            Some(&mut dx),
            &mut dw,
            &mut db,
        );
        // Whole batch at once: col, dW = colᵀ dZ, dcol = dZ Wᵀ, col2im.
        let (rows, l) = (g.rows(), g.patch_len());
        let mut col = vec![0.0; rows * l];
        im2col(&g, &x, &mut col);
        let mut dw_ref = vec![0.0; w.len()];
        let dzm = MatRef::row_major(&dz, rows, o);
        matmul(
            &mut dw_ref,
            MatRef::row_major(&col, rows, l).t(),
            dzm,
            false,
        );
        matmul(&mut col, dzm, MatRef::row_major(&w, l, o).t(), false);
        let mut dx_ref = vec![0.0; g.input_len()];
        col2im_add(&g, &col, &mut dx_ref);
        assert_close(&dw, &dw_ref, 1e-4, &format!("chunked dW, {what}"));
        assert_close(&dx, &dx_ref, 1e-4, &format!("chunked dX, {what}"));
    }
}
