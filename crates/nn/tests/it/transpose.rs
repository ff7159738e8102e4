//! `Conv2DTranspose` and `UpSampling2D` (notebook 10's decoder) against plain references
//! written from their definitions, not from the kernels:
//!
//! * the transposed convolution as a scatter: every input pixel adds `value * kernel` to
//!   the `k x k` output window that starts at `(i * s - before, j * s - before)`, with
//!   Keras' output size (`compute_conv_transpose_output_length` in Keras 3's
//!   `keras/src/backend/common/backend_utils.py`: `n * s` for `same`, `n * s + max(k - s,
//!   0)` for `valid`) and TensorFlow's placement of `same` (`before = floor(max(k - s, 0) /
//!   2)`: `tf.nn.conv2d_transpose` is the gradient of `tf.nn.conv2d`, whose `same` padding
//!   puts the smaller half before; the same `padding_before` as that Keras file's
//!   `_compute_conv_transpose_padding_one_dim`);
//! * the adjoint identity `<conv2d(x), y> = <x, conv2d_transpose(y)>` with one shared
//!   kernel, which ties the transposed convolution to our `conv2d` (itself tested against
//!   TensorFlow's documented padding in `ops_reference.rs`);
//! * upsampling: nearest as `x[y / size][x / size]`, bilinear as TensorFlow's
//!   `resize_bilinear` with half-pixel centres (`(o + 0.5) / size - 0.5`, clamped);
//!
//! and every backward pass against central finite differences of those references.
//!
//! No TensorFlow was available on the machine that wrote these tests
//! (`.venv-anchors` did not exist), so the hand-computed cases below are derived from the
//! definitions above and say so; none of them comes from running TensorFlow.

use crate::common::{assert_close, dot, finite_diff, images, random_vec};
use cnnkit_kernels::conv::{Algorithm, TransposeGeometry, WeightGradAlgorithm};
use cnnkit_nn::ops::{self, conv2d_transpose, upsampling2d, Interpolation};
use cnnkit_nn::prelude::*;
use dfdx::tensor::WithEmptyTape;
use ndarray::Array4;
use rand::rngs::StdRng;
use rand::SeedableRng;

// ---- references -------------------------------------------------------------------------

/// Keras' output size of a transposed convolution along one axis (`output_padding=None`).
fn keras_out(n: usize, k: usize, s: usize, same: bool) -> usize {
    if same {
        n * s
    } else {
        n * s + k.saturating_sub(s)
    }
}

/// The scatter: `out[b, i*s - before + ky, j*s - before + kx, f] += x[b, i, j, c] *
/// w[ky, kx, f, c]`, kept where it falls inside the output, plus the bias; `w` is Keras'
/// `(k, k, filters, in_channels)`.
fn ref_conv_transpose(
    x: &Array4<f32>,
    w: &Array4<f32>,
    bias: &[f32],
    s: usize,
    same: bool,
    relu: bool,
) -> Array4<f32> {
    let (b, h, wd, c) = x.dim();
    let (kh, kw, o, _) = w.dim();
    let (oh, ow) = (keras_out(h, kh, s, same), keras_out(wd, kw, s, same));
    let before = |k: usize| if same { k.saturating_sub(s) / 2 } else { 0 };
    let (top, left) = (before(kh) as isize, before(kw) as isize);
    let mut acc = vec![0.0f64; b * oh * ow * o];
    for n in 0..b {
        for i in 0..h {
            for j in 0..wd {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let oy = (i * s + ky) as isize - top;
                        let ox = (j * s + kx) as isize - left;
                        if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                            continue;
                        }
                        for f in 0..o {
                            let mut v = 0.0f64;
                            for ch in 0..c {
                                v += x[[n, i, j, ch]] as f64 * w[[ky, kx, f, ch]] as f64;
                            }
                            acc[((n * oh + oy as usize) * ow + ox as usize) * o + f] += v;
                        }
                    }
                }
            }
        }
    }
    let out: Vec<f32> = acc
        .iter()
        .enumerate()
        .map(|(idx, v)| {
            let y = (v + bias[idx % o] as f64) as f32;
            if relu {
                y.max(0.0)
            } else {
                y
            }
        })
        .collect();
    Array4::from_shape_vec((b, oh, ow, o), out).unwrap()
}

/// Nearest or bilinear (TensorFlow's half-pixel centres) upsampling, in `f64`.
fn ref_upsample(x: &Array4<f32>, size: usize, bilinear: bool) -> Vec<f64> {
    let (b, h, w, c) = x.dim();
    // Input position, lower and upper neighbour and the weight of the upper one.
    let taps = |n: usize, o: usize| -> (usize, usize, f64) {
        if !bilinear {
            return (o / size, o / size, 0.0);
        }
        let at = (o as f64 + 0.5) / size as f64 - 0.5;
        let lo = at.floor();
        let frac = at - lo;
        let clamp = |v: f64| (v.max(0.0) as usize).min(n - 1);
        (clamp(lo), clamp(at.ceil()), frac)
    };
    let mut out = Vec::with_capacity(b * h * size * w * size * c);
    for n in 0..b {
        for oy in 0..h * size {
            let (y0, y1, fy) = taps(h, oy);
            for ox in 0..w * size {
                let (x0, x1, fx) = taps(w, ox);
                for ch in 0..c {
                    let p = |y: usize, xx: usize| x[[n, y, xx, ch]] as f64;
                    let top = p(y0, x0) * (1.0 - fx) + p(y0, x1) * fx;
                    let bottom = p(y1, x0) * (1.0 - fx) + p(y1, x1) * fx;
                    out.push(top * (1.0 - fy) + bottom * fy);
                }
            }
        }
    }
    out
}

fn as_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

// ---- the transposed convolution ---------------------------------------------------------

/// Forward against the scatter, backward (input, kernel, bias) against central finite
/// differences of the scatter, for `b` images `h x w x C` to `O` filters of `K x K`.
#[allow(clippy::too_many_arguments)]
fn check_transpose<const C: usize, const O: usize, const K: usize>(
    b: usize,
    h: usize,
    w: usize,
    s: usize,
    padding: Padding,
    relu: bool,
    seed: u64,
) {
    let what = format!("conv_transpose C={C} O={O} K={K} {b}x{h}x{w} s={s} {padding} relu={relu}");
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let same = padding == Padding::Same;
    let xv = random_vec(&mut rng, b * h * w * C);
    let wv = random_vec(&mut rng, K * K * O * C);
    let bv = random_vec(&mut rng, O);
    let weight: Tensor<Rank4<K, K, O, C>, f32, Cpu> =
        dev.tensor_from_vec(wv.clone(), Default::default());
    let bias: Tensor<Rank1<O>, f32, Cpu> = dev.tensor_from_vec(bv.clone(), Default::default());
    let reference = |xv: &[f32], wv: &[f32], bv: &[f32]| {
        let xa = Array4::from_shape_vec((b, h, w, C), xv.to_vec()).unwrap();
        let wa = Array4::from_shape_vec((K, K, O, C), wv.to_vec()).unwrap();
        ref_conv_transpose(&xa, &wa, bv, s, same, relu)
    };

    let expected = reference(&xv, &wv, &bv);
    let y = conv2d_transpose(
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
        (keras_out(h, K, s, same), keras_out(w, K, s, same)),
        "{what}: output size"
    );
    assert_eq!((oh, ow), (expected.dim().1, expected.dim().2));
    assert_close(&y.as_vec(), expected.as_slice().unwrap(), 1e-5, &what);

    // loss = sum(y * r), so dL/dy = r.
    let r = random_vec(&mut rng, y.shape().num_elements());
    let rt = dev.tensor_from_vec(r.clone(), *y.shape());
    let x = images::<C>(&dev, xv.clone(), b, h, w);
    let y = conv2d_transpose(x.leaky_trace(), &weight, &bias, s, padding, relu).unwrap();
    let grads = (y * rt).sum().backward();
    let loss =
        |xv: &[f32], wv: &[f32], bv: &[f32]| dot(reference(xv, wv, bv).as_slice().unwrap(), &r);
    if relu {
        // A perturbation may cross the kink; the bias gradient with a small step checks
        // the mask (outputs near 0 are rare with random data).
        let yv = expected.as_slice().unwrap();
        assert!(
            yv.contains(&0.0) && yv.iter().any(|v| *v > 0.0),
            "{what}: the relu case needs both signs"
        );
        let fd = finite_diff(&bv, 1e-4, |p| loss(&xv, &wv, p));
        assert_close(&grads.get(&bias).as_vec(), &fd, 2e-2, &format!("{what} db"));
        return;
    }
    let eps = 1e-2;
    assert_close(
        &grads.get(&x).as_vec(),
        &finite_diff(&xv, eps, |p| loss(p, &wv, &bv)),
        2e-3,
        &format!("{what} dx"),
    );
    assert_close(
        &grads.get(&weight).as_vec(),
        &finite_diff(&wv, eps, |p| loss(&xv, p, &bv)),
        2e-3,
        &format!("{what} dw"),
    );
    assert_close(
        &grads.get(&bias).as_vec(),
        &finite_diff(&bv, eps, |p| loss(&xv, &wv, p)),
        2e-3,
        &format!("{what} db"),
    );
}

#[test]
fn conv2d_transpose_matches_the_scatter_and_finite_differences() {
    let mut seed = 500;
    for padding in [Padding::Same, Padding::Valid] {
        for s in [1, 2, 3] {
            seed += 1;
            check_transpose::<1, 2, 3>(2, 5, 4, s, padding, false, seed);
            check_transpose::<3, 2, 2>(2, 3, 5, s, padding, false, seed);
            check_transpose::<2, 3, 1>(2, 3, 3, s, padding, false, seed);
            check_transpose::<2, 2, 4>(2, 3, 3, s, padding, false, seed);
            check_transpose::<2, 1, 5>(3, 3, 2, s, padding, false, seed);
            check_transpose::<3, 2, 3>(2, 4, 3, s, padding, true, seed);
        }
    }
}

/// The three algorithms of the plan (and the direct weight gradient, which a transposed
/// convolution to few channels gets: its convolution has few input channels) all run and
/// agree with the scatter; wide channels take the vectorised GEMM paths.
#[test]
fn conv2d_transpose_runs_every_algorithm_of_the_plan() {
    let plan = |h, c, o, k, s, p| {
        TransposeGeometry::new(2, (h, h, c), o, (k, k), (s, s), p)
            .unwrap()
            .plan()
    };
    let winograd = plan(5, 2, 3, 3, 1, Padding::Same);
    assert!(matches!(winograd.forward, Algorithm::Winograd(_)));
    assert_eq!(
        plan(5, 2, 3, 1, 1, Padding::Valid).forward,
        Algorithm::Pointwise
    );
    assert_eq!(
        plan(5, 2, 3, 3, 2, Padding::Same).forward,
        Algorithm::Im2col
    );
    let direct = plan(5, 16, 2, 3, 2, Padding::Same);
    assert_eq!(direct.weight_grad, WeightGradAlgorithm::Direct);
    // Finite differences through the direct weight gradient (16 channels in, 2 filters).
    check_transpose::<16, 2, 3>(2, 3, 4, 2, Padding::Same, false, 601);
    check_transpose::<16, 1, 4>(1, 3, 3, 2, Padding::Valid, false, 602);
    // Winograd and pointwise with wide channels, forward only (the gradients are checked
    // through the adjoint identity below).
    let mut rng = StdRng::seed_from_u64(603);
    let dev = Cpu::default();
    let (b, h, w) = (3, 7, 6);
    let xv = random_vec(&mut rng, b * h * w * 32);
    let xa = Array4::from_shape_vec((b, h, w, 32), xv.clone()).unwrap();
    let w3 = random_vec(&mut rng, 3 * 3 * 48 * 32);
    let bv = random_vec(&mut rng, 48);
    let weight: Tensor<Rank4<3, 3, 48, 32>, f32, Cpu> =
        dev.tensor_from_vec(w3.clone(), Default::default());
    let bias: Tensor<Rank1<48>, f32, Cpu> = dev.tensor_from_vec(bv.clone(), Default::default());
    let wa = Array4::from_shape_vec((3, 3, 48, 32), w3).unwrap();
    for (s, padding) in [(1, Padding::Same), (2, Padding::Same), (1, Padding::Valid)] {
        let y = conv2d_transpose(
            images::<32>(&dev, xv.clone(), b, h, w),
            &weight,
            &bias,
            s,
            padding,
            true,
        )
        .unwrap();
        let expected = ref_conv_transpose(&xa, &wa, &bv, s, padding == Padding::Same, true);
        let what = format!("conv_transpose 32->48 k3 s{s} {padding}");
        assert_close(&y.as_vec(), expected.as_slice().unwrap(), 1e-4, &what);
    }
}

/// `<conv2d(x), y> = <x, conv2d_transpose(y)>` for the same kernel read as Conv2D's
/// `(k, k, c_in, c_out)` and Conv2DTranspose's `(k, k, filters, in_channels)`, with zero
/// biases: the transposed convolution is the adjoint of the convolution whose input has
/// its output shape. The backward passes obey the same identity: the input gradient of a
/// transposed convolution is a convolution, and its kernel gradient is the convolution's
/// with the roles of input and output swapped.
#[test]
fn conv2d_transpose_is_the_adjoint_of_conv2d() {
    fn check<const A: usize, const B: usize, const K: usize>(
        rng: &mut StdRng,
        n: usize,
        s: usize,
        padding: Padding,
    ) {
        let dev = Cpu::default();
        let batch = 2;
        let same = padding == Padding::Same;
        // The transposed convolution maps n x n x B to m x m x A; the convolution back.
        let m = keras_out(n, K, s, same);
        let wv = random_vec(rng, K * K * A * B);
        let conv_w: Tensor<Rank4<K, K, A, B>, f32, Cpu> =
            dev.tensor_from_vec(wv.clone(), Default::default());
        let zeros_b: Tensor<Rank1<B>, f32, Cpu> = dev.zeros();
        let zeros_a: Tensor<Rank1<A>, f32, Cpu> = dev.zeros();
        let xv = random_vec(rng, batch * m * m * A);
        let yv = random_vec(rng, batch * n * n * B);
        let cx = ops::conv2d(
            images::<A>(&dev, xv.clone(), batch, m, m),
            &conv_w,
            &zeros_b,
            s,
            padding,
            false,
        )
        .unwrap();
        assert_eq!(
            (cx.shape().1, cx.shape().2),
            (n, n),
            "conv of the transposed output size"
        );
        let ty = conv2d_transpose(
            images::<B>(&dev, yv.clone(), batch, n, n),
            &conv_w,
            &zeros_a,
            s,
            padding,
            false,
        )
        .unwrap();
        assert_eq!((ty.shape().1, ty.shape().2), (m, m));
        let (lhs, rhs) = (dot(&cx.as_vec(), &yv), dot(&xv, &ty.as_vec()));
        let what = format!("adjoint {A}<->{B} n={n} k={K} s={s} {padding}");
        assert!(
            (lhs - rhs).abs() <= 1e-4 * lhs.abs().max(1.0),
            "{what}: {lhs} vs {rhs}"
        );

        // Gradients: for L = <conv2d_transpose(y), x>, dL/dy = conv2d(x) and dL/dW is the
        // convolution's dW of <conv2d(x), y>.
        let y = images::<B>(&dev, yv.clone(), batch, n, n);
        let t = conv2d_transpose(y.leaky_trace(), &conv_w, &zeros_a, s, padding, false).unwrap();
        let gt = (t * dev.tensor_from_vec(xv.clone(), (batch, m, m, Const::<A>)))
            .sum()
            .backward();
        assert_close(
            &gt.get(&y).as_vec(),
            &cx.as_vec(),
            1e-4,
            &format!("{what}: dy"),
        );
        let x = images::<A>(&dev, xv.clone(), batch, m, m);
        let c = ops::conv2d(x.leaky_trace(), &conv_w, &zeros_b, s, padding, false).unwrap();
        let gc = (c * dev.tensor_from_vec(yv.clone(), (batch, n, n, Const::<B>)))
            .sum()
            .backward();
        assert_close(
            &gt.get(&conv_w).as_vec(),
            &gc.get(&conv_w).as_vec(),
            1e-4,
            &format!("{what}: dW"),
        );
        assert_close(
            &gc.get(&x).as_vec(),
            &ty.as_vec(),
            1e-4,
            &format!("{what}: conv dx"),
        );
    }
    let mut rng = StdRng::seed_from_u64(610);
    for padding in [Padding::Same, Padding::Valid] {
        for s in [1, 2, 3] {
            check::<3, 2, 3>(&mut rng, 5, s, padding);
            check::<2, 4, 2>(&mut rng, 4, s, padding);
            check::<1, 3, 1>(&mut rng, 3, s, padding);
            check::<2, 2, 5>(&mut rng, 3, s, padding);
            check::<4, 16, 4>(&mut rng, 3, s, padding);
            check::<24, 20, 3>(&mut rng, 6, s, padding);
        }
    }
}

/// Keras' output sizes (`compute_conv_transpose_output_length`, `output_padding=None`),
/// worked out by hand, in `arith`, in the op and in the summary.
#[test]
fn output_sizes_follow_keras() {
    // (n, k, s, same, Keras' output)
    let table = [
        (7, 3, 2, true, 14),
        (7, 3, 2, false, 15),
        (16, 3, 2, true, 32),
        (16, 3, 2, false, 33),
        (5, 4, 2, true, 10),
        (5, 4, 2, false, 12),
        (5, 2, 2, false, 10),
        (5, 1, 2, false, 10), // kernel < stride: n * s, the last row bias only
        (5, 1, 3, false, 15),
        (4, 5, 1, true, 4),
        (4, 5, 1, false, 8),
        (3, 3, 3, false, 9),
        (3, 4, 3, false, 10),
        (1, 3, 1, false, 3),
        (14, 2, 2, true, 28),
    ];
    for (n, k, s, same, want) in table {
        let p = if same { Padding::Same } else { Padding::Valid };
        assert_eq!(
            arith::transpose_output_size(n, k, s, p).unwrap(),
            want,
            "{n} {k} {s} {p}"
        );
        assert_eq!(keras_out(n, k, s, same), want);
    }
    assert!(arith::transpose_output_size(3, 3, 0, Padding::Same).is_err());

    // Rectangular input through the op.
    let dev = Cpu::default();
    let w: Tensor<Rank4<4, 4, 2, 1>, f32, Cpu> = dev.zeros();
    let b: Tensor<Rank1<2>, f32, Cpu> = dev.zeros();
    let y = conv2d_transpose(
        images::<1>(&dev, vec![0.0; 15], 1, 5, 3),
        &w,
        &b,
        2,
        Padding::Valid,
        false,
    )
    .unwrap();
    assert_eq!(*y.shape(), (1, 12, 8, Const::<2>));

    // The summary: shapes, Keras' names and parameter counts K * K * I * O + O.
    type Decoder = (
        Conv2DTranspose<32, 16, 3, 2, Same, Relu>,
        Conv2DTranspose<16, 8, 4, 2>,
        UpSampling2D<2>,
        UpSampling2D<3, Bilinear>,
    );
    let model = Cpu::seed_from_u64(0).build_module::<Decoder, f32>();
    let s = summary(&model, [7, 5, 32]).unwrap();
    let rows: Vec<(&str, &str, FeatureShape, usize)> = s
        .layers
        .iter()
        .map(|r| (r.name.as_str(), r.kind, r.output, r.params))
        .collect();
    assert_eq!(
        rows,
        vec![
            (
                "conv2d_transpose",
                "Conv2DTranspose",
                FeatureShape::image(14, 10, 16),
                3 * 3 * 32 * 16 + 16
            ),
            (
                "conv2d_transpose_1",
                "Conv2DTranspose",
                FeatureShape::image(30, 22, 8),
                4 * 4 * 16 * 8 + 8
            ),
            (
                "up_sampling2d",
                "UpSampling2D",
                FeatureShape::image(60, 44, 8),
                0
            ),
            (
                "up_sampling2d_1",
                "UpSampling2D",
                FeatureShape::image(180, 132, 8),
                0
            ),
        ]
    );
    assert_eq!(
        s.layers[0].config,
        "16 filters 3x3, stride 2, padding=same, activation=relu"
    );
    assert_eq!(s.layers[3].config, "size 3x3, interpolation=bilinear");
    let y = model.forward(dev.zeros_like(&(2, 7, 5, Const::<32>)));
    assert_eq!(*y.shape(), (2, 180, 132, Const::<8>));
    // The wrong channel count is a summary error naming the layer.
    let err = summary(&model, [7, 5, 3]).unwrap_err().to_string();
    assert!(
        err.contains("conv2d_transpose (Conv2DTranspose)") && err.contains("32 channels"),
        "{err}"
    );
}

/// Small cases worked out by hand from the definition (not by running TensorFlow): a 2x2
/// image of ones and a kernel of ones count how many windows cover each output pixel. With
/// `same`, the `max(k - s, 0)` rows and columns beyond `n * s` are cropped, the smaller
/// half at the top and left, as TensorFlow places the padding of the convolution that
/// `conv2d_transpose` is the gradient of (PyTorch's `padding=1, output_padding=1` would
/// crop at the top and give `1 2 1 1` instead of `1 1 2 1`).
#[test]
fn hand_computed_cases_place_same_padding_as_tensorflow() {
    fn ones<const K: usize>(s: usize, padding: Padding) -> (usize, Vec<f32>) {
        let dev = Cpu::default();
        let w: Tensor<Rank4<K, K, 1, 1>, f32, Cpu> = dev.ones();
        let b: Tensor<Rank1<1>, f32, Cpu> = dev.zeros();
        let y = conv2d_transpose(
            images::<1>(&dev, vec![1.0; 4], 1, 2, 2),
            &w,
            &b,
            s,
            padding,
            false,
        )
        .unwrap();
        (y.shape().1, y.as_vec())
    }
    let outer = |a: &[f32]| -> Vec<f32> {
        a.iter()
            .flat_map(|u| a.iter().map(move |v| u * v))
            .collect()
    };
    // k=3, s=2: the full scatter has rows covered 1 1 2 1 1 times.
    assert_eq!(
        ones::<3>(2, Padding::Valid),
        (5, outer(&[1., 1., 2., 1., 1.]))
    );
    assert_eq!(ones::<3>(2, Padding::Same), (4, outer(&[1., 1., 2., 1.])));
    // k=4, s=2: 1 1 2 2 1 1, two rows cropped, one each side.
    assert_eq!(
        ones::<4>(2, Padding::Valid),
        (6, outer(&[1., 1., 2., 2., 1., 1.]))
    );
    assert_eq!(ones::<4>(2, Padding::Same), (4, outer(&[1., 2., 2., 1.])));
    // k=2, s=2: blocks that do not overlap; nothing to crop.
    assert_eq!(ones::<2>(2, Padding::Same), (4, vec![1.0; 16]));
    // k=3, s=1: 1 2 2 1; same keeps the middle two.
    assert_eq!(ones::<3>(1, Padding::Valid), (4, outer(&[1., 2., 2., 1.])));
    assert_eq!(ones::<3>(1, Padding::Same), (2, outer(&[2., 2.])));
    // k=2, s=1: 1 2 1; same crops the one extra row at the bottom.
    assert_eq!(ones::<2>(1, Padding::Same), (2, outer(&[1., 2.])));
    // k=1, s=3: windows far apart, the rows between them stay zero.
    assert_eq!(
        ones::<1>(3, Padding::Valid).1,
        outer(&[1., 0., 0., 1., 0., 0.])
    );
}

/// The input gradient is added to what is already there (dfdx accumulates): a batch that
/// feeds two transposed convolutions gets the sum of both gradients, on every path
/// (Winograd, pointwise, im2col), and skipping the input gradient leaves the kernel's
/// unchanged.
#[test]
fn input_gradients_accumulate_and_can_be_skipped() {
    fn check<const K: usize>(s: usize, padding: Padding) {
        let dev = Cpu::seed_from_u64(9);
        let mut rng = StdRng::seed_from_u64(9);
        let x = images::<4>(&dev, random_vec(&mut rng, 2 * 5 * 5 * 4), 2, 5, 5);
        let w: Tensor<Rank4<K, K, 3, 4>, f32, Cpu> =
            dev.tensor_from_vec(random_vec(&mut rng, K * K * 3 * 4), Default::default());
        let b: Tensor<Rank1<3>, f32, Cpu> = dev.zeros();
        let single = conv2d_transpose(x.leaky_trace(), &w, &b, s, padding, false)
            .unwrap()
            .sum()
            .backward();
        let xt = x.leaky_trace();
        let a = conv2d_transpose(xt.with_empty_tape(), &w, &b, s, padding, false).unwrap();
        let c = conv2d_transpose(xt, &w, &b, s, padding, false).unwrap();
        let double = ops::add(a, c).unwrap().sum().backward();
        let twice: Vec<f32> = single.get(&x).as_vec().iter().map(|g| 2.0 * g).collect();
        let what = format!("k{K} s{s} {padding}");
        assert_close(
            &double.get(&x).as_vec(),
            &twice,
            1e-5,
            &format!("{what}: dx"),
        );
        let skipped = ops::without_input_gradient(|| {
            conv2d_transpose(x.leaky_trace(), &w, &b, s, padding, false).unwrap()
        })
        .sum()
        .backward();
        assert_eq!(
            skipped.get(&w).as_vec(),
            single.get(&w).as_vec(),
            "{what}: dW"
        );
    }
    check::<3>(1, Padding::Same);
    check::<1>(1, Padding::Valid);
    check::<3>(2, Padding::Same);
}

// ---- the layer --------------------------------------------------------------------------

/// The layer computes the op with its own kernel (Keras' `(K, K, OUT, IN)`) and bias,
/// starts from Glorot uniform and zeros, trains through the tape, and saves and loads
/// under Conv2D's names.
#[test]
fn the_layer_uses_keras_layout_init_and_checkpoint_names() {
    type Up = Conv2DTranspose<3, 5, 3, 2, Same>;
    let dev = Cpu::seed_from_u64(3);
    let mut layer = dev.build_module::<Up, f32>();
    assert_eq!(layer.weight.shape().concrete(), [3, 3, 5, 3]);
    let limit = cnnkit_nn::init::glorot_limit(3 * 3 * 5, 3 * 3 * 3) as f32;
    let wv = layer.weight.as_vec();
    assert!(wv.iter().all(|v| v.abs() <= limit) && wv.iter().any(|v| v.abs() > limit / 2.0));
    assert_eq!(layer.bias.as_vec(), vec![0.0; 5]);
    layer.bias = dev.tensor([0.1, -0.2, 0.3, 0.0, 0.5]);

    let mut rng = StdRng::seed_from_u64(4);
    let xv = random_vec(&mut rng, 2 * 4 * 3 * 3);
    let x = images::<3>(&dev, xv.clone(), 2, 4, 3);
    let y = layer.forward(x.clone());
    let direct = conv2d_transpose(
        x.clone(),
        &layer.weight,
        &layer.bias,
        2,
        Padding::Same,
        false,
    )
    .unwrap();
    assert_eq!(y.as_vec(), direct.as_vec());
    assert_eq!(*y.shape(), (2, 8, 6, Const::<5>));

    let grads = layer.forward(x.leaky_trace()).sum().backward();
    // d sum(y) / d bias = the number of output pixels.
    assert_eq!(grads.get(&layer.bias).as_vec(), vec![(2 * 8 * 6) as f32; 5]);

    let names: Vec<String> = cnnkit_nn::checkpoint::named_weights(&layer)
        .unwrap()
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert_eq!(names, ["weight", "bias"]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("up.safetensors");
    cnnkit_nn::checkpoint::save(&layer, &path).unwrap();
    let mut copy = Cpu::seed_from_u64(99).build_module::<Up, f32>();
    cnnkit_nn::checkpoint::load(&mut copy, &path).unwrap();
    assert_eq!(copy.weight.as_vec(), layer.weight.as_vec());
    assert_eq!(copy.forward(x).as_vec(), y.as_vec());
    // A file of another shape is refused with the tensor's name.
    let mut other = dev.build_module::<Conv2DTranspose<3, 4, 3, 2, Same>, f32>();
    let err = cnnkit_nn::checkpoint::load(&mut other, &path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`bias`"), "{err}");
}

// ---- upsampling -------------------------------------------------------------------------

fn check_upsample<const C: usize>(
    b: usize,
    h: usize,
    w: usize,
    size: usize,
    bilinear: bool,
    seed: u64,
) {
    let what = format!("upsample C={C} {b}x{h}x{w} size={size} bilinear={bilinear}");
    let dev = Cpu::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let xv = random_vec(&mut rng, b * h * w * C);
    let mode = if bilinear {
        Interpolation::Bilinear
    } else {
        Interpolation::Nearest
    };
    let reference = |v: &[f32]| {
        ref_upsample(
            &Array4::from_shape_vec((b, h, w, C), v.to_vec()).unwrap(),
            size,
            bilinear,
        )
    };
    let x = images::<C>(&dev, xv.clone(), b, h, w);
    let y = upsampling2d(x.leaky_trace(), size, mode).unwrap();
    assert_eq!(*y.shape(), (b, h * size, w * size, Const::<C>), "{what}");
    assert_close(&y.as_vec(), &as_f32(&reference(&xv)), 1e-6, &what);
    let r = random_vec(&mut rng, y.shape().num_elements());
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, h * size, w * size, Const::<C>)))
        .sum()
        .backward();
    let fd = finite_diff(&xv, 1e-2, |p| {
        reference(p)
            .iter()
            .zip(&r)
            .map(|(a, b)| a * *b as f64)
            .sum()
    });
    assert_close(&grads.get(&x).as_vec(), &fd, 2e-3, &format!("{what} dx"));
}

#[test]
fn upsampling_matches_reference_and_finite_differences() {
    let mut seed = 700;
    for bilinear in [false, true] {
        for size in [1, 2, 3] {
            seed += 1;
            check_upsample::<1>(2, 3, 5, size, bilinear, seed);
            check_upsample::<3>(1, 4, 1, size, bilinear, seed);
            check_upsample::<20>(2, 3, 2, size, bilinear, seed);
        }
    }
}

/// TensorFlow's bilinear resize of `[[1, 2], [3, 4]]` to 4x4 with half-pixel centres,
/// worked out by hand: the weights are 1/4 and 3/4, the borders repeat the edge pixel.
#[test]
fn bilinear_upsampling_by_hand() {
    let dev = Cpu::default();
    let x = images::<1>(&dev, vec![1., 2., 3., 4.], 1, 2, 2);
    let y = UpSampling2D::<2, Bilinear>::default()
        .forward(x.clone())
        .as_vec();
    #[rustfmt::skip]
    let want = [
        1.0, 1.25, 1.75, 2.0,
        1.5, 1.75, 2.25, 2.5,
        2.5, 2.75, 3.25, 3.5,
        3.0, 3.25, 3.75, 4.0,
    ];
    assert_eq!(y, want);
    let y = UpSampling2D::<2>::default().forward(x).as_vec();
    #[rustfmt::skip]
    let want = [
        1.0, 1.0, 2.0, 2.0,
        1.0, 1.0, 2.0, 2.0,
        3.0, 3.0, 4.0, 4.0,
        3.0, 3.0, 4.0, 4.0,
    ];
    assert_eq!(y, want);
}

/// A small encoder-decoder trains through both layers: the loss goes down on a fixed
/// batch, and every parameter receives a gradient.
#[test]
fn an_encoder_decoder_learns_through_both_layers() {
    use dfdx::optim::{Adam, Optimizer};
    type Net = (
        Conv2D<1, 4, 3, 1, Same, Relu>,
        MaxPool2D<2>,
        Conv2DTranspose<4, 4, 3, 2, Same, Relu>,
        UpSampling2D<1>,
        Conv2D<4, 1, 1>,
    );
    let dev = Cpu::seed_from_u64(5);
    let mut net = dev.build_module::<Net, f32>();
    let mut rng = StdRng::seed_from_u64(5);
    let x = images::<1>(&dev, random_vec(&mut rng, 4 * 8 * 8), 4, 8, 8);
    let target = images::<1>(&dev, x.as_vec().iter().map(|v| v.abs()).collect(), 4, 8, 8);
    let mut opt = Adam::new(&net, Default::default());
    let mut losses = Vec::new();
    for _ in 0..30 {
        let y = net.forward(x.leaky_trace());
        let loss = (y - target.clone()).square().mean();
        losses.push(loss.array());
        let grads = loss.backward();
        assert!(grads.get(&net.2.weight).as_vec().iter().any(|g| *g != 0.0));
        opt.update(&mut net, &grads).unwrap();
    }
    assert!(losses[29] < 0.7 * losses[0], "{losses:?}");
}

/// Sizes that cannot work are errors that say why, not panics: a zero stride or factor,
/// an empty input; the summary names the layer.
#[test]
fn impossible_sizes_are_errors_with_a_reason() {
    let dev = Cpu::default();
    let w: Tensor<Rank4<3, 3, 2, 1>, f32, Cpu> = dev.zeros();
    let b: Tensor<Rank1<2>, f32, Cpu> = dev.zeros();
    let x = || images::<1>(&dev, vec![0.0; 9], 1, 3, 3);
    let err = conv2d_transpose(x(), &w, &b, 0, Padding::Same, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("stride"), "{err}");
    let err = conv2d_transpose(
        images::<1>(&dev, vec![], 1, 0, 3),
        &w,
        &b,
        2,
        Padding::Valid,
        false,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("no rows or columns"), "{err}");
    let err = upsampling2d(x(), 0, Interpolation::Nearest)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least 1"), "{err}");
    let layer = dev.build_module::<Conv2DTranspose<1, 2, 3, 2, Same>, f32>();
    let err = summary(&layer, [0, 4, 1]).unwrap_err().to_string();
    assert!(
        err.contains("conv2d_transpose (Conv2DTranspose)") && err.contains("0x4"),
        "{err}"
    );
}
