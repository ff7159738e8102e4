//! The layers of notebook 07's architectures against plain references written from their
//! definitions (Keras' and TensorFlow's documentation: `BatchNormalization`,
//! `DepthwiseConv2D`, `SeparableConv2D`, `tf.nn.local_response_normalization`,
//! `Concatenate`, `ZeroPadding2D`), in `f64` loops that share no code with the kernels,
//! and every backward pass against central finite differences of those references.

use crate::common::{assert_close, dot, finite_diff, images, random_vec, ref_pad};
use cnnkit_nn::checkpoint::named_weights;
use cnnkit_nn::layers::{BatchNormModule, SeparableConv2DModule};
use cnnkit_nn::ops::{
    self, batch_norm_inference, batch_norm_training, concat_channels, depthwise_conv2d,
    local_response_norm, scale_channels, zero_pad2d, LrnSettings,
};
use cnnkit_nn::prelude::*;
use rand::rngs::StdRng;
use rand::SeedableRng;

// ---- batch normalization -----------------------------------------------------------------

/// `gamma * (x - mean) / sqrt(var + eps) + beta` per channel (last axis), with the batch's
/// mean and biased variance when `stats` is `None`.
fn ref_batch_norm(
    x: &[f32],
    c: usize,
    gamma: &[f32],
    beta: &[f32],
    stats: Option<(&[f32], &[f32])>,
    eps: f64,
) -> Vec<f64> {
    let rows = x.len() / c;
    let (mean, var): (Vec<f64>, Vec<f64>) = match stats {
        Some((m, v)) => (
            m.iter().map(|&v| v as f64).collect(),
            v.iter().map(|&v| v as f64).collect(),
        ),
        None => (0..c)
            .map(|ch| {
                let vals: Vec<f64> = (0..rows).map(|r| x[r * c + ch] as f64).collect();
                let m = vals.iter().sum::<f64>() / rows as f64;
                let v = vals.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / rows as f64;
                (m, v)
            })
            .unzip(),
    };
    x.iter()
        .enumerate()
        .map(|(i, &v)| {
            let ch = i % c;
            gamma[ch] as f64 * (v as f64 - mean[ch]) / (var[ch] + eps).sqrt() + beta[ch] as f64
        })
        .collect()
}

fn as_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn dot64(a: &[f64], b: &[f32]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * *y as f64).sum()
}

fn check_batch_norm<S: Shape, const C: usize>(shape: S, training: bool, seed: u64) {
    let what = format!("batch norm {:?} training={training}", shape.concrete());
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let n = shape.num_elements();
    // An offset and a scale per channel, so that normalising matters.
    let xv: Vec<f32> = random_vec(&mut rng, n)
        .iter()
        .enumerate()
        .map(|(i, v)| 3.0 * v + (i % C) as f32)
        .collect();
    let gv: Vec<f32> = random_vec(&mut rng, C).iter().map(|v| 1.0 + v).collect();
    let bv = random_vec(&mut rng, C);
    let mv = random_vec(&mut rng, C);
    let vv: Vec<f32> = random_vec(&mut rng, C).iter().map(|v| 1.5 + v).collect();
    let t1 = |v: &[f32]| dev.tensor_from_vec(v.to_vec(), (Const::<C>,));
    let (gamma, beta, mean, var) = (t1(&gv), t1(&bv), t1(&mv), t1(&vv));
    let eps = 1e-3;
    let stats = (!training).then_some((&mv[..], &vv[..]));

    let x = dev.tensor_from_vec(xv.clone(), shape);
    let forward = |x: Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>| {
        if training {
            batch_norm_training(x, &gamma, &beta, eps as f32).unwrap().0
        } else {
            batch_norm_inference(x, &gamma, &beta, &mean, &var, eps as f32).unwrap()
        }
    };
    let y = forward(x.leaky_trace());
    let expected = ref_batch_norm(&xv, C, &gv, &bv, stats, eps);
    assert_close(&y.as_vec(), &as_f32(&expected), 1e-5, &what);

    let r = random_vec(&mut rng, n);
    let grads = (y * dev.tensor_from_vec(r.clone(), shape)).sum().backward();
    let loss = |x: &[f32], g: &[f32], b: &[f32]| dot64(&ref_batch_norm(x, C, g, b, stats, eps), &r);
    let fd_x = finite_diff(&xv, 1e-2, |p| loss(p, &gv, &bv));
    assert_close(&grads.get(&x).as_vec(), &fd_x, 2e-3, &format!("{what} dx"));
    let fd_g = finite_diff(&gv, 1e-2, |p| loss(&xv, p, &bv));
    assert_close(
        &grads.get(&gamma).as_vec(),
        &fd_g,
        2e-3,
        &format!("{what} dgamma"),
    );
    let fd_b = finite_diff(&bv, 1e-2, |p| loss(&xv, &gv, p));
    assert_close(
        &grads.get(&beta).as_vec(),
        &fd_b,
        2e-3,
        &format!("{what} dbeta"),
    );
    // The training-mode input gradient sums to zero per channel (the mean is removed).
    if training {
        let gx = grads.get(&x).as_vec();
        for ch in 0..C {
            let s: f32 = gx.iter().skip(ch).step_by(C).sum();
            assert!(s.abs() < 1e-3, "{what}: dx of channel {ch} sums to {s}");
        }
    }
}

#[test]
fn batch_normalization_matches_reference_and_finite_differences() {
    for training in [true, false] {
        check_batch_norm::<_, 4>((2usize, 3usize, 5usize, Const::<4>), training, 1);
        check_batch_norm::<_, 3>((7usize, Const::<3>), training, 2);
        check_batch_norm::<_, 1>((1usize, 9usize, 1usize, Const::<1>), training, 3);
    }
}

/// Batch normalization with the ReLU fused into its pass against the two ops one after
/// the other (`batch_norm_*` then dfdx's own `relu`, checked above and by dfdx): values
/// and the gradients of the input, `gamma` and `beta`, in both modes. The fused backward
/// pass recomputes the ReLU's gate from the input instead of keeping the output, so this
/// is what shows the two agree.
fn check_batch_norm_relu<const C: usize>(training: bool, seed: u64) {
    let what = format!("batch norm + relu, training={training}");
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let shape = (3usize, 5usize, 7usize, Const::<C>);
    let n = shape.num_elements();
    let xv: Vec<f32> = random_vec(&mut rng, n).iter().map(|v| 2.0 * v).collect();
    let t1 = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<C>,));
    // beta spread around 0, so that every channel has values on both sides of the kink.
    let gamma = t1(random_vec(&mut rng, C).iter().map(|v| 1.0 + v).collect());
    let beta = t1(random_vec(&mut rng, C));
    let mean = t1(random_vec(&mut rng, C));
    let var = t1(random_vec(&mut rng, C).iter().map(|v| 1.5 + v).collect());
    let r = dev.tensor_from_vec(random_vec(&mut rng, n), shape);
    let run = |fused: bool| {
        let x = dev.tensor_from_vec(xv.clone(), shape);
        let t = x.leaky_trace();
        let y = match (training, fused) {
            (true, true) => {
                ops::batch_norm_relu_training(t, &gamma, &beta, 1e-3)
                    .unwrap()
                    .0
            }
            (true, false) => batch_norm_training(t, &gamma, &beta, 1e-3)
                .unwrap()
                .0
                .relu(),
            (false, true) => {
                ops::batch_norm_relu_inference(t, &gamma, &beta, &mean, &var, 1e-3).unwrap()
            }
            (false, false) => batch_norm_inference(t, &gamma, &beta, &mean, &var, 1e-3)
                .unwrap()
                .relu(),
        };
        let out = y.as_vec();
        let grads = (y * r.clone()).sum().backward();
        let g = |t: &Tensor<Rank1<C>, f32, Cpu>| grads.get(t).as_vec();
        (out, grads.get(&x).as_vec(), g(&gamma), g(&beta))
    };
    let (fused, plain) = (run(true), run(false));
    assert!(
        plain.0.contains(&0.0) && plain.0.iter().any(|&v| v > 0.0),
        "{what}: the ReLU must clip some values and keep others"
    );
    assert_eq!(fused.0, plain.0, "{what}: values");
    assert_close(&fused.1, &plain.1, 1e-5, &format!("{what} dx"));
    assert_close(&fused.2, &plain.2, 1e-5, &format!("{what} dgamma"));
    assert_close(&fused.3, &plain.3, 1e-5, &format!("{what} dbeta"));
}

#[test]
fn batch_normalization_with_fused_relu_equals_the_two_ops() {
    for training in [true, false] {
        check_batch_norm_relu::<4>(training, 11);
        check_batch_norm_relu::<19>(training, 12);
    }
}

#[test]
fn batch_normalization_moving_statistics_follow_keras_over_several_steps() {
    let dev = Cpu::seed_from_u64(0);
    let mut bn: BatchNormModule<3, f32, Cpu> = dev.build_module::<BatchNorm<3>, f32>();
    assert_eq!((bn.momentum, bn.epsilon), (0.99, 1e-3), "Keras defaults");
    let mut rng = StdRng::seed_from_u64(7);
    // Keras: moving = moving * momentum + batch * (1 - momentum), biased batch variance,
    // starting from zeros and ones.
    let (mut m, mut v) = (vec![0.0f64; 3], vec![1.0f64; 3]);
    for step in 0..6 {
        let xv: Vec<f32> = random_vec(&mut rng, 4 * 2 * 3 * 3)
            .iter()
            .map(|x| 2.0 * x + step as f32)
            .collect();
        let x: Images<3> = images(&dev, xv.clone(), 4, 2, 3);
        let _ = bn.forward_mut(x.leaky_trace());
        for ch in 0..3 {
            let vals: Vec<f64> = xv.iter().skip(ch).step_by(3).map(|&x| x as f64).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            m[ch] = m[ch] * 0.99 + mean * 0.01;
            v[ch] = v[ch] * 0.99 + var * 0.01;
        }
    }
    assert_close(&bn.moving_mean.as_vec(), &as_f32(&m), 1e-5, "moving mean");
    assert_close(
        &bn.moving_variance.as_vec(),
        &as_f32(&v),
        1e-5,
        "moving variance",
    );

    // Inference uses them: one image gives the same output alone or in any batch.
    let xv = random_vec(&mut rng, 2 * 2 * 3);
    let y = bn.forward(images::<3>(&dev, xv.clone(), 1, 2, 2)).as_vec();
    let expected = ref_batch_norm(
        &xv,
        3,
        &bn.gamma.as_vec(),
        &bn.beta.as_vec(),
        Some((&as_f32(&m), &as_f32(&v))),
        1e-3,
    );
    assert_close(
        &y,
        &as_f32(&expected),
        1e-5,
        "inference with moving statistics",
    );

    // A checkpoint keeps them; the optimizer never touches them (not trainable).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bn.safetensors");
    cnnkit_nn::checkpoint::save(&bn, &path).unwrap();
    let mut fresh = dev.build_module::<BatchNorm<3>, f32>();
    cnnkit_nn::checkpoint::load(&mut fresh, &path).unwrap();
    assert_eq!(fresh.moving_mean.as_vec(), bn.moving_mean.as_vec());
    assert_eq!(fresh.moving_variance.as_vec(), bn.moving_variance.as_vec());
    let s = summary(&bn, [2, 2, 3]).unwrap();
    assert_eq!(
        (
            s.total_params(),
            s.trainable_params(),
            s.non_trainable_params()
        ),
        (12, 6, 6)
    );
    assert!(s.to_string().contains("Non-trainable params: 6"), "{s}");
}

// ---- depthwise and separable convolutions ----------------------------------------------

/// Depthwise convolution from its definition: out[b, y, x, c] = bias[c] + sum over the
/// window of x[b, iy, ix, c] * w[ky, kx, c].
#[allow(clippy::too_many_arguments)]
fn ref_depthwise(
    x: &[f32],
    (b, h, w, c): (usize, usize, usize, usize),
    wt: &[f32],
    k: usize,
    bias: Option<&[f32]>,
    s: usize,
    same: bool,
) -> (Vec<f64>, usize, usize) {
    let (oh, pt) = ref_pad(h, k, s, same);
    let (ow, pl) = ref_pad(w, k, s, same);
    let mut out = vec![0.0f64; b * oh * ow * c];
    for n in 0..b {
        for oy in 0..oh {
            for ox in 0..ow {
                for ch in 0..c {
                    let mut acc = bias.map_or(0.0, |bv| bv[ch] as f64);
                    for ky in 0..k {
                        for kx in 0..k {
                            let iy = (oy * s + ky) as isize - pt as isize;
                            let ix = (ox * s + kx) as isize - pl as isize;
                            if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                                continue;
                            }
                            let xi = ((n * h + iy as usize) * w + ix as usize) * c + ch;
                            acc += x[xi] as f64 * wt[(ky * k + kx) * c + ch] as f64;
                        }
                    }
                    out[((n * oh + oy) * ow + ox) * c + ch] = acc;
                }
            }
        }
    }
    (out, oh, ow)
}

fn check_depthwise<const C: usize, const K: usize>(
    (b, h, w): (usize, usize, usize),
    s: usize,
    padding: Padding,
    seed: u64,
) {
    let what = format!("depthwise C={C} K={K} {b}x{h}x{w} s={s} {padding}");
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let same = padding == Padding::Same;
    let xv = random_vec(&mut rng, b * h * w * C);
    let wv = random_vec(&mut rng, K * K * C);
    let bv = random_vec(&mut rng, C);
    let weight: Tensor<Rank4<K, K, C, 1>, f32, Cpu> =
        dev.tensor_from_vec(wv.clone(), Default::default());
    let bias: Tensor<Rank1<C>, f32, Cpu> = dev.tensor_from_vec(bv.clone(), Default::default());
    let x = images::<C>(&dev, xv.clone(), b, h, w);
    let y = depthwise_conv2d(x.leaky_trace(), &weight, Some(&bias), s, padding).unwrap();
    let (expected, oh, ow) = ref_depthwise(&xv, (b, h, w, C), &wv, K, Some(&bv), s, same);
    assert_eq!((y.shape().1, y.shape().2), (oh, ow), "{what}: output size");
    assert_close(&y.as_vec(), &as_f32(&expected), 1e-5, &what);

    let r = random_vec(&mut rng, expected.len());
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, oh, ow, Const::<C>)))
        .sum()
        .backward();
    let loss = |x: &[f32], wt: &[f32], bb: &[f32]| {
        dot64(
            &ref_depthwise(x, (b, h, w, C), wt, K, Some(bb), s, same).0,
            &r,
        )
    };
    let fd = finite_diff(&xv, 1e-2, |p| loss(p, &wv, &bv));
    assert_close(&grads.get(&x).as_vec(), &fd, 1e-3, &format!("{what} dx"));
    let fd = finite_diff(&wv, 1e-2, |p| loss(&xv, p, &bv));
    assert_close(
        &grads.get(&weight).as_vec(),
        &fd,
        1e-3,
        &format!("{what} dw"),
    );
    let fd = finite_diff(&bv, 1e-2, |p| loss(&xv, &wv, p));
    assert_close(&grads.get(&bias).as_vec(), &fd, 1e-3, &format!("{what} db"));
}

#[test]
fn depthwise_convolution_matches_reference_and_finite_differences() {
    for padding in [Padding::Same, Padding::Valid] {
        for s in [1, 2, 3] {
            check_depthwise::<3, 3>((2, 7, 5), s, padding, 10 + s as u64);
            check_depthwise::<5, 2>((1, 6, 9), s, padding, 20 + s as u64);
        }
    }
    check_depthwise::<17, 5>((9, 11, 8), 2, Padding::Same, 31);
    check_depthwise::<1, 1>((1, 3, 3), 1, Padding::Valid, 32);
}

#[test]
fn separable_convolution_is_depthwise_then_pointwise_with_gradients() {
    const IN: usize = 3;
    const OUT: usize = 4;
    let dev = Cpu::seed_from_u64(5);
    let mut rng = StdRng::seed_from_u64(5);
    let layer: SeparableConv2DModule<IN, OUT, 3, 2, Same, Identity, UseBias, f32, Cpu> =
        dev.build_module::<SeparableConv2D<IN, OUT, 3, 2, Same>, f32>();
    let bias = layer.bias.clone().unwrap();
    let (dv, pv, bv) = (
        layer.depthwise.as_vec(),
        layer.pointwise.as_vec(),
        bias.as_vec(),
    );
    let (b, h, w) = (2, 5, 6);
    let xv = random_vec(&mut rng, b * h * w * IN);
    // Reference: depthwise (stride 2, same), then out[o] = bias[o] + sum_c d[c] * p[c, o].
    let reference = |xv: &[f32], dv: &[f32], pv: &[f32], bv: &[f32]| {
        let (d, oh, ow) = ref_depthwise(xv, (b, h, w, IN), dv, 3, None, 2, true);
        let mut out = vec![0.0f64; b * oh * ow * OUT];
        for p in 0..b * oh * ow {
            for o in 0..OUT {
                out[p * OUT + o] = bv[o] as f64
                    + (0..IN)
                        .map(|c| d[p * IN + c] * pv[c * OUT + o] as f64)
                        .sum::<f64>();
            }
        }
        out
    };
    let expected = reference(&xv, &dv, &pv, &bv);
    let x = images::<IN>(&dev, xv.clone(), b, h, w);
    let y = layer.forward(x.leaky_trace());
    assert_eq!((y.shape().1, y.shape().2), (3, 3));
    assert_close(&y.as_vec(), &as_f32(&expected), 1e-5, "separable forward");
    let r = random_vec(&mut rng, expected.len());
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, 3, 3, Const::<OUT>)))
        .sum()
        .backward();
    let fd = finite_diff(&dv, 1e-2, |p| dot64(&reference(&xv, p, &pv, &bv), &r));
    assert_close(
        &grads.get(&layer.depthwise).as_vec(),
        &fd,
        1e-3,
        "separable d depthwise",
    );
    let fd = finite_diff(&pv, 1e-2, |p| dot64(&reference(&xv, &dv, p, &bv), &r));
    assert_close(
        &grads.get(&layer.pointwise).as_vec(),
        &fd,
        1e-3,
        "separable d pointwise",
    );
    let fd = finite_diff(&xv, 1e-2, |p| dot64(&reference(p, &dv, &pv, &bv), &r));
    assert_close(&grads.get(&x).as_vec(), &fd, 1e-3, "separable dx");
    let s = summary(&layer, [5, 6, IN]).unwrap();
    assert_eq!(s.total_params(), 9 * IN + IN * OUT + OUT);
}

// ---- local response normalization ---------------------------------------------------------

/// TensorFlow's definition: sqr_sum[c] = sum(x[c - r .. c + r]^2),
/// out = x / (bias + alpha * sqr_sum)^beta.
fn ref_lrn(x: &[f32], c: usize, s: &LrnSettings) -> Vec<f64> {
    x.chunks(c)
        .flat_map(|row| {
            (0..c).map(move |i| {
                let lo = i.saturating_sub(s.depth_radius);
                let hi = (i + s.depth_radius).min(c - 1);
                let sq: f64 = (lo..=hi).map(|j| (row[j] as f64).powi(2)).sum();
                row[i] as f64 / (s.bias as f64 + s.alpha as f64 * sq).powf(s.beta as f64)
            })
        })
        .collect()
}

#[test]
fn local_response_normalization_matches_tensorflow_definition_and_gradient() {
    let dev = Cpu::seed_from_u64(3);
    let mut rng = StdRng::seed_from_u64(3);
    let strong = LrnSettings {
        depth_radius: 2,
        bias: 1.0,
        alpha: 0.3,
        beta: 0.75,
    };
    for settings in [LrnSettings::default(), strong] {
        let xv: Vec<f32> = random_vec(&mut rng, 2 * 3 * 2 * 7)
            .iter()
            .map(|v| 2.0 * v)
            .collect();
        let x = images::<7>(&dev, xv.clone(), 2, 3, 2);
        let y = local_response_norm(x.leaky_trace(), settings).unwrap();
        assert_close(
            &y.as_vec(),
            &as_f32(&ref_lrn(&xv, 7, &settings)),
            1e-6,
            "lrn",
        );
        let r = random_vec(&mut rng, xv.len());
        let grads = (y * dev.tensor_from_vec(r.clone(), (2, 3, 2, Const::<7>)))
            .sum()
            .backward();
        let fd = finite_diff(&xv, 1e-2, |p| dot64(&ref_lrn(p, 7, &settings), &r));
        assert_close(&grads.get(&x).as_vec(), &fd, 2e-3, "lrn dx");
    }
}

// ---- combining feature maps ----------------------------------------------------------------

#[test]
fn concatenation_orders_channels_and_splits_gradients() {
    let dev = Cpu::seed_from_u64(4);
    let mut rng = StdRng::seed_from_u64(4);
    let (b, h, w) = (2, 3, 5);
    let av = random_vec(&mut rng, b * h * w * 2);
    let bv = random_vec(&mut rng, b * h * w * 3);
    let a = dev.tensor_from_vec(av.clone(), (b, h, w, 2usize));
    let c = dev.tensor_from_vec(bv.clone(), (b, h, w, 3usize));
    let y = concat_channels::<usize, _, 5>(vec![a.leaky_trace(), c.leaky_trace()]).unwrap();
    let yv = y.as_vec();
    for p in 0..b * h * w {
        assert_eq!(&yv[p * 5..p * 5 + 2], &av[p * 2..p * 2 + 2]);
        assert_eq!(&yv[p * 5 + 2..p * 5 + 5], &bv[p * 3..p * 3 + 3]);
    }
    let r = random_vec(&mut rng, yv.len());
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, h, w, Const::<5>)))
        .sum()
        .backward();
    let (ga, gc) = (grads.get(&a).as_vec(), grads.get(&c).as_vec());
    for p in 0..b * h * w {
        assert_eq!(&ga[p * 2..p * 2 + 2], &r[p * 5..p * 5 + 2]);
        assert_eq!(&gc[p * 3..p * 3 + 3], &r[p * 5 + 2..p * 5 + 5]);
    }
    // Parts of different sizes are an error that names the layer, not a panic.
    let a = dev.tensor_from_vec(av, (b, h, w, 2usize));
    let c = dev.tensor_from_vec(vec![0.0; b * 2 * 2 * 3], (b, 2usize, 2usize, 3usize));
    let err = concat_channels::<usize, _, 5>(vec![a, c])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Concatenate") && err.contains("stride"),
        "{err}"
    );
}

#[test]
fn channel_scaling_matches_reference_and_finite_differences() {
    let dev = Cpu::seed_from_u64(6);
    let mut rng = StdRng::seed_from_u64(6);
    let (b, h, w) = (3, 2, 3);
    let xv = random_vec(&mut rng, b * h * w * 4);
    let sv = random_vec(&mut rng, b * 4);
    let reference = |xv: &[f32], sv: &[f32]| -> Vec<f64> {
        xv.iter()
            .enumerate()
            .map(|(i, &v)| v as f64 * sv[(i / (h * w * 4)) * 4 + i % 4] as f64)
            .collect()
    };
    let x = images::<4>(&dev, xv.clone(), b, h, w);
    let s = dev.tensor_from_vec(sv.clone(), (b, Const::<4>));
    let y = scale_channels(x.leaky_trace(), s.leaky_trace()).unwrap();
    assert_close(&y.as_vec(), &as_f32(&reference(&xv, &sv)), 1e-6, "scale");
    let r = random_vec(&mut rng, xv.len());
    let grads = (y * dev.tensor_from_vec(r.clone(), (b, h, w, Const::<4>)))
        .sum()
        .backward();
    let fd = finite_diff(&xv, 1e-2, |p| dot64(&reference(p, &sv), &r));
    assert_close(&grads.get(&x).as_vec(), &fd, 1e-3, "scale dx");
    let fd = finite_diff(&sv, 1e-2, |p| dot64(&reference(&xv, p), &r));
    assert_close(&grads.get(&s).as_vec(), &fd, 1e-3, "scale ds");
}

#[test]
fn zero_padding_places_the_image_and_passes_its_gradient_back() {
    let dev = Cpu::seed_from_u64(8);
    let mut rng = StdRng::seed_from_u64(8);
    let xv = random_vec(&mut rng, 2 * 3 * 4 * 2);
    let x = images::<2>(&dev, xv.clone(), 2, 3, 4);
    let y = zero_pad2d(x.leaky_trace(), (1, 2, 3, 0)).unwrap();
    assert_eq!((y.shape().1, y.shape().2), (6, 7));
    let yv = y.as_vec();
    for n in 0..2 {
        for yy in 0..6 {
            for xx in 0..7 {
                for c in 0..2 {
                    let got = yv[((n * 6 + yy) * 7 + xx) * 2 + c];
                    let inside = (1..4).contains(&yy) && (3..7).contains(&xx);
                    let want = if inside {
                        xv[((n * 3 + yy - 1) * 4 + xx - 3) * 2 + c]
                    } else {
                        0.0
                    };
                    assert_eq!(got, want, "pixel {n},{yy},{xx},{c}");
                }
            }
        }
    }
    let r = random_vec(&mut rng, yv.len());
    let grads = (y * dev.tensor_from_vec(r.clone(), (2, 6, 7, Const::<2>)))
        .sum()
        .backward();
    let fd = finite_diff(&xv, 1e-2, |p| {
        let y = zero_pad2d(images::<2>(&dev, p.to_vec(), 2, 3, 4), (1, 2, 3, 0)).unwrap();
        dot(&y.as_vec(), &r)
    });
    assert_close(&grads.get(&x).as_vec(), &fd, 1e-3, "zero pad dx");
}

#[test]
fn tanh_and_sigmoid_layers_match_their_formulas() {
    let dev = Cpu::default();
    let xv = vec![-2.0f32, -0.5, 0.0, 0.7, 3.0];
    let x = dev.tensor_from_vec(xv.clone(), (1usize, Const::<5>));
    let t: Vec<f32> = xv.iter().map(|v| v.tanh()).collect();
    let s: Vec<f32> = xv.iter().map(|v| 1.0 / (1.0 + (-v).exp())).collect();
    assert_close(&Tanh.forward(x.clone()).as_vec(), &t, 1e-6, "tanh");
    assert_close(&Sigmoid.forward(x.clone()).as_vec(), &s, 1e-6, "sigmoid");
    // And fused into a dense layer, as LeNet-5 uses it.
    let mut dense = dev.build_module::<Dense<5, 1, Tanh>, f32>();
    dense.weight = dev.tensor_from_vec(vec![1.0; 5], Default::default());
    let y = dense.forward(x).as_vec()[0];
    assert!((y - xv.iter().sum::<f32>().tanh()).abs() < 1e-6);
}

// ---- residual units --------------------------------------------------------------------------

/// The built `ResidualUnitDown<2, 3>`.
type UnitDown = <ResidualUnitDown<2, 3> as dfdx::nn::BuildOnDevice<Cpu, f32>>::Built;

/// The stride-2 residual unit computed op by op (convolutions, batch normalizations in
/// the given mode, ReLU, addition), with the unit's own parameters.
fn residual_unit_by_ops(unit: &UnitDown, x: Images<2>, training: bool) -> Vec<f32> {
    let bn = |bn: &BatchNormModule<3, f32, Cpu>, y: Images<3>| {
        if training {
            batch_norm_training(y, &bn.gamma, &bn.beta, bn.epsilon)
                .unwrap()
                .0
        } else {
            batch_norm_inference(
                y,
                &bn.gamma,
                &bn.beta,
                &bn.moving_mean,
                &bn.moving_variance,
                bn.epsilon,
            )
            .unwrap()
        }
    };
    let (main, short) = (&unit.inner.0.main, &unit.inner.0.shortcut);
    let y = ops::conv2d_no_bias(x.clone(), &main.conv1.weight, 2, Padding::Same, false).unwrap();
    let y = bn(&main.bn1, y).relu();
    let y = ops::conv2d_no_bias(y, &main.conv2.weight, 1, Padding::Same, false).unwrap();
    let y = bn(&main.bn2, y);
    let s = ops::conv2d_no_bias(x, &short.0.weight, 2, Padding::Same, false).unwrap();
    let s = bn(&short.1, s);
    ops::add(y, s).unwrap().relu().as_vec()
}

#[test]
fn residual_unit_is_the_books_composition_in_both_modes() {
    let dev = Cpu::seed_from_u64(9);
    let mut rng = StdRng::seed_from_u64(9);
    let mut unit = dev.build_module::<ResidualUnitDown<2, 3>, f32>();
    let xv = random_vec(&mut rng, 3 * 5 * 7 * 2);
    let x = images::<2>(&dev, xv.clone(), 3, 5, 7);
    // Training mode (batch statistics), then inference with the moved averages.
    let expected = residual_unit_by_ops(&unit, x.clone(), true);
    let y = unit.forward_mut(x.leaky_trace());
    assert_eq!((y.shape().1, y.shape().2), (3, 4));
    assert_close(&y.as_vec(), &expected, 1e-5, "residual unit, training");
    for _ in 0..3 {
        let _ = unit.forward_mut(x.leaky_trace());
    }
    let expected = residual_unit_by_ops(&unit, x.clone(), false);
    assert_close(
        &unit.forward(x.clone()).as_vec(),
        &expected,
        1e-5,
        "residual unit, inference",
    );

    // The input gradient through the whole unit in training mode, along random
    // directions: d/dt L(x + t v) against grad . v.
    let r = random_vec(&mut rng, 3 * 3 * 4 * 3);
    let rt = dev.tensor_from_vec(r.clone(), (3, 3, 4, Const::<3>));
    let y = unit.forward_mut(x.leaky_trace());
    let grads = (y * rt).sum().backward();
    let gx = grads.get(&x).as_vec();
    for _ in 0..4 {
        let v = random_vec(&mut rng, xv.len());
        let eps = 1e-3f32;
        let mut at = |t: f32| {
            let p: Vec<f32> = xv.iter().zip(&v).map(|(a, b)| a + t * b).collect();
            dot(
                &unit
                    .forward_mut(images::<2>(&dev, p, 3, 5, 7).leaky_trace())
                    .as_vec(),
                &r,
            )
        };
        let fd = (at(eps) - at(-eps)) / (2.0 * eps as f64);
        let analytic = dot(&gx, &v);
        assert!(
            (fd - analytic).abs() <= 2e-2 * analytic.abs().max(1.0),
            "directional derivative: finite differences {fd}, backward {analytic}"
        );
    }
}

#[test]
fn a_shortcut_of_another_size_is_a_clear_error() {
    // Same channel count (so it compiles) but a stride-2 main path beside an identity.
    type Mismatch = Residual<Conv2D<4, 4, 3, 2, Same>>;
    let dev = Cpu::seed_from_u64(0);
    let block = dev.build_module::<Mismatch, f32>();
    let err = summary(&block, [8, 8, 4]).unwrap_err().to_string();
    assert!(
        err.contains("add (Add)") && err.contains("1x1 convolution"),
        "{err}"
    );
    let err = ops::add(
        dev.ones_like(&(1usize, 4usize, 4usize, Const::<4>)),
        dev.ones_like(&(1usize, 8usize, 8usize, Const::<4>)),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("same shape"), "{err}");
}

#[test]
fn fused_add_relu_equals_add_then_relu_with_gradients() {
    let dev = Cpu::seed_from_u64(4);
    let mut rng = StdRng::seed_from_u64(4);
    let (av, bv) = (
        random_vec(&mut rng, 2 * 3 * 5 * 6),
        random_vec(&mut rng, 2 * 3 * 5 * 6),
    );
    let r = images::<6>(&dev, random_vec(&mut rng, av.len()), 2, 3, 5);
    let run = |fused: bool| {
        let (a, b) = (
            images::<6>(&dev, av.clone(), 2, 3, 5),
            images::<6>(&dev, bv.clone(), 2, 3, 5),
        );
        let y = if fused {
            ops::add_relu(a.leaky_trace(), b.clone()).unwrap()
        } else {
            ops::add(a.leaky_trace(), b.clone()).unwrap().relu()
        };
        let out = y.as_vec();
        let grads = (y * r.clone()).sum().backward();
        (out, grads.get(&a).as_vec(), grads.get(&b).as_vec())
    };
    let (fused, plain) = (run(true), run(false));
    assert!(plain.0.contains(&0.0) && plain.0.iter().any(|&v| v > 0.0));
    assert_eq!(fused, plain);
    // Without a tape (inference) the same values.
    let y = ops::add_relu(
        images::<6>(&dev, av.clone(), 2, 3, 5),
        images::<6>(&dev, bv, 2, 3, 5),
    );
    assert_eq!(y.unwrap().as_vec(), plain.0);
}

#[test]
fn fused_residual_units_keep_the_names_and_rows_of_the_plain_tuples() {
    // What `ResidualUnitDown` computed before its ReLUs were fused: the tuple of layers.
    type Plain = (
        Residual<
            (
                Conv2DNoBias<2, 3, 3, 2, Same>,
                BatchNorm<3>,
                Relu,
                Conv2DNoBias<3, 3, 3, 1, Same>,
                BatchNorm<3>,
            ),
            (Conv2DNoBias<2, 3, 1, 2, Same>, BatchNorm<3>),
        >,
        Relu,
    );
    let dev = Cpu::seed_from_u64(5);
    let fused = dev.build_module::<ResidualUnitDown<2, 3>, f32>();
    let mut plain = dev.build_module::<Plain, f32>();
    let names = |w: Vec<(String, Vec<f32>)>| w.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    let fused_names: Vec<String> = names(named_weights(&fused).unwrap())
        .into_iter()
        .map(|n| n.strip_prefix("inner.").unwrap().to_string())
        .collect();
    assert_eq!(fused_names, names(named_weights(&plain).unwrap()));
    // The same weights give the same output in both modes.
    let dir = std::env::temp_dir().join(format!("cnnkit-fused-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    cnnkit_nn::checkpoint::save(&fused.inner, dir.join("unit.safetensors")).unwrap();
    cnnkit_nn::checkpoint::load(&mut plain, dir.join("unit.safetensors")).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let mut rng = StdRng::seed_from_u64(5);
    let x = images::<2>(&dev, random_vec(&mut rng, 2 * 6 * 6 * 2), 2, 6, 6);
    assert_close(
        &fused.forward(x.clone()).as_vec(),
        &plain.forward(x).as_vec(),
        1e-6,
        "fused against plain unit",
    );
    use cnnkit_nn::layers::describe::{Describe, LayerRow};
    let rows = |r: Vec<LayerRow>| {
        r.into_iter()
            .map(|r| (r.kind, r.output, r.params, r.config))
            .collect::<Vec<_>>()
    };
    let fused_rows = rows(fused.rows([6, 6, 2]).unwrap());
    let mut plain_rows = Vec::new();
    plain
        .describe(FeatureShape::image(6, 6, 2), &mut plain_rows)
        .unwrap();
    assert_eq!(fused_rows, rows(plain_rows));
}

#[test]
fn inference_folds_batch_normalization_into_the_convolutions() {
    // Moving statistics and BN parameters away from their initial values, so that the
    // folded filters differ from the plain ones.
    let dev = Cpu::seed_from_u64(6);
    let mut rng = StdRng::seed_from_u64(6);
    let mut main = dev.build_module::<cnnkit_nn::layers::ResidualMain<3, 5, 2>, f32>();
    for bn in [&mut main.bn1, &mut main.bn2] {
        let t = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<5>,));
        bn.gamma = t(random_vec(&mut rng, 5).iter().map(|v| 1.0 + v).collect());
        bn.beta = t(random_vec(&mut rng, 5));
        bn.moving_mean = t(random_vec(&mut rng, 5));
        bn.moving_variance = t(random_vec(&mut rng, 5).iter().map(|v| 1.5 + v).collect());
    }
    let xv = random_vec(&mut rng, 2 * 9 * 7 * 3);
    let x = images::<3>(&dev, xv.clone(), 2, 9, 7);
    // Without a tape: folded. With one: the four layers one by one.
    let folded = main.forward(x.clone());
    let plain = main.forward(x.leaky_trace());
    assert_eq!(folded.shape(), plain.shape());
    assert_close(
        &folded.as_vec(),
        &plain.as_vec(),
        1e-5,
        "folded against plain inference",
    );
    // The taped inference still reaches the convolution's own filters.
    let grads = plain.sum().backward();
    let dw = grads.get(&main.conv1.weight).as_vec();
    assert!(
        dw.iter().any(|&g| g != 0.0),
        "no gradient reached conv1's filters"
    );
}

#[test]
fn adding_a_tensor_to_itself_doubles_its_gradient() {
    // An identity main path beside the identity shortcut: both inputs are the same tensor.
    let dev = Cpu::seed_from_u64(0);
    let block = dev.build_module::<Residual<Identity>, f32>();
    let x: Images<2> = dev.tensor_from_vec(vec![1.0, -2.0, 3.0, 0.5], (1, 1, 2, Const::<2>));
    let y = block.forward(x.leaky_trace());
    assert_eq!(y.as_vec(), vec![2.0, -4.0, 6.0, 1.0]);
    let grads = y.sum().backward();
    assert_eq!(grads.get(&x).as_vec(), vec![2.0; 4]);
    // And through the fused ReLU: relu(x + x) passes 2 where x > 0.
    let block = dev.build_module::<Residual<Identity, Identity, Relu>, f32>();
    let y = block.forward(x.leaky_trace());
    assert_eq!(y.as_vec(), vec![2.0, 0.0, 6.0, 1.0]);
    let grads = y.sum().backward();
    assert_eq!(grads.get(&x).as_vec(), vec![2.0, 0.0, 2.0, 2.0]);
}

/// The gradients of a main path trained as one op ([`ops::residual_main_training`])
/// against the five ops it replaces, for every parameter and the input, with stride 1 and
/// 2, `same` and `valid` padding and odd sizes; and the moving averages after one step.
fn check_fused_main_path<const S: usize>(padding: Padding, seed: u64) {
    type Main<const S: usize> =
        <cnnkit_nn::layers::ResidualMain<3, 4, S> as dfdx::nn::BuildOnDevice<Cpu, f32>>::Built;
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut main: Main<S> = dev.build_module::<cnnkit_nn::layers::ResidualMain<3, 4, S>, f32>();
    let t = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<4>,));
    for bn in [&mut main.bn1, &mut main.bn2] {
        bn.gamma = t(random_vec(&mut rng, 4).iter().map(|v| 1.0 + v).collect());
        bn.beta = t(random_vec(&mut rng, 4));
    }
    let (b, h, w) = (3, 11, 9);
    let xv = random_vec(&mut rng, b * h * w * 3);
    let x = images::<3>(&dev, xv, b, h, w);
    let (w1, g1, b1) = (
        main.conv1.weight.clone(),
        main.bn1.gamma.clone(),
        main.bn1.beta.clone(),
    );
    let (w2, g2, b2) = (
        main.conv2.weight.clone(),
        main.bn2.gamma.clone(),
        main.bn2.beta.clone(),
    );
    let first = ops::ConvBatchNorm {
        weight: &w1,
        stride: S,
        padding,
        gamma: &g1,
        beta: &b1,
        epsilon: 1e-3,
    };
    let second = ops::ConvBatchNorm {
        weight: &w2,
        stride: 1,
        padding,
        gamma: &g2,
        beta: &b2,
        epsilon: 1e-3,
    };
    let (fused, stats) = ops::residual_main_training(x.leaky_trace(), first, second).unwrap();
    let (s1, s2) = (stats.first, stats.second);
    // The five ops, with the same parameter tensors.
    let z = ops::conv2d_no_bias(x.leaky_trace(), &w1, S, padding, false).unwrap();
    let (a, e1) = ops::batch_norm_relu_training(z, &g1, &b1, 1e-3).unwrap();
    let z = ops::conv2d_no_bias(a, &w2, 1, padding, false).unwrap();
    let (plain, e2) = batch_norm_training(z, &g2, &b2, 1e-3).unwrap();
    assert_eq!(fused.shape(), plain.shape());
    let what = format!("stride {S}, {padding:?}");
    assert_close(
        &fused.as_vec(),
        &plain.as_vec(),
        1e-6,
        &format!("{what}: output"),
    );
    assert_eq!((&s1, &s2), (&e1, &e2), "{what}: batch statistics");
    // A random weighting of the outputs, so that no gradient is trivially zero.
    let r = random_vec(&mut rng, fused.shape().num_elements());
    let rt = dev.tensor_from_vec(r, *fused.shape());
    let gf = (fused * rt.clone()).sum().backward();
    let gp = (plain * rt).sum().backward();
    let pairs: [(&str, Vec<f32>, Vec<f32>); 7] = [
        ("input", gf.get(&x).as_vec(), gp.get(&x).as_vec()),
        ("conv1", gf.get(&w1).as_vec(), gp.get(&w1).as_vec()),
        ("gamma1", gf.get(&g1).as_vec(), gp.get(&g1).as_vec()),
        ("beta1", gf.get(&b1).as_vec(), gp.get(&b1).as_vec()),
        ("conv2", gf.get(&w2).as_vec(), gp.get(&w2).as_vec()),
        ("gamma2", gf.get(&g2).as_vec(), gp.get(&g2).as_vec()),
        ("beta2", gf.get(&b2).as_vec(), gp.get(&b2).as_vec()),
    ];
    for (name, f, p) in pairs {
        assert!(p.iter().any(|&v| v != 0.0), "{what}: {name}: zero gradient");
        assert_close(&f, &p, 1e-5, &format!("{what}: gradient of {name}"));
    }
    // The layer (`same` padding) trains with the fused op and moves its averages as
    // BatchNormalization does.
    if padding == Padding::Same {
        let before = main.bn2.moving_mean.as_vec();
        let _ = main.forward_mut(x.leaky_trace());
        let moved: Vec<f32> = before
            .iter()
            .zip(&s2.mean)
            .map(|(m, b)| m * 0.99 + b * 0.01)
            .collect();
        let what = format!("{what}: moving mean");
        assert_close(&main.bn2.moving_mean.as_vec(), &moved, 1e-5, &what);
    }
}

#[test]
fn a_main_path_trained_as_one_op_has_the_gradients_of_its_five_ops() {
    check_fused_main_path::<1>(Padding::Same, 31);
    check_fused_main_path::<2>(Padding::Same, 32);
    check_fused_main_path::<1>(Padding::Valid, 33);
    check_fused_main_path::<2>(Padding::Valid, 34);
}

/// A whole unit trained as one op ([`ops::residual_unit_training`]) against the ops it
/// replaces (the main path's five, the shortcut's convolution and batch normalization, the
/// addition and the ReLU): output, statistics and every gradient.
fn check_fused_unit<const IN: usize, const OUT: usize, const S: usize>(seed: u64) {
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    // Gamma around 1 and beta around 0, each from its own seed.
    let p = |k: u64, around: f32| {
        let v: Vec<f32> = random_vec(&mut StdRng::seed_from_u64(100 * seed + k), OUT);
        v.iter().map(|v| around + v).collect::<Vec<f32>>()
    };
    let w1: Tensor<Rank4<3, 3, IN, OUT>, f32, Cpu> = dev.sample_normal();
    let w2: Tensor<Rank4<3, 3, OUT, OUT>, f32, Cpu> = dev.sample_normal();
    let ws: Tensor<Rank4<1, 1, IN, OUT>, f32, Cpu> = dev.sample_normal();
    let t = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<OUT>,));
    let (g1, b1) = (t(p(0, 1.0)), t(p(1, 0.0)));
    let (g2, b2) = (t(p(2, 1.0)), t(p(3, 0.0)));
    let (gs, bs) = (t(p(4, 1.0)), t(p(5, 0.0)));
    let (b, h, w) = (2, 9, 7);
    let x = images::<IN>(&dev, random_vec(&mut rng, b * h * w * IN), b, h, w);
    fn stage<'a, const I: usize, const O: usize, const K: usize>(
        weight: &'a Tensor<Rank4<K, K, I, O>, f32, Cpu>,
        stride: usize,
        gamma: &'a Tensor<Rank1<O>, f32, Cpu>,
        beta: &'a Tensor<Rank1<O>, f32, Cpu>,
    ) -> ops::ConvBatchNorm<'a, I, O, K> {
        ops::ConvBatchNorm {
            weight,
            stride,
            padding: Padding::Same,
            gamma,
            beta,
            epsilon: 1e-3,
        }
    }
    let projection = IN != OUT || S != 1;
    let shortcut = if projection {
        ops::Shortcut::Projection(stage(&ws, S, &gs, &bs))
    } else {
        ops::Shortcut::Identity
    };
    let (first, second) = (stage(&w1, S, &g1, &b1), stage(&w2, 1, &g2, &b2));
    let (fused, stats) =
        ops::residual_unit_training(x.leaky_trace(), first, second, shortcut).unwrap();
    // The same unit op by op.
    let z = ops::conv2d_no_bias(x.leaky_trace(), &w1, S, Padding::Same, false).unwrap();
    let (a, _) = ops::batch_norm_relu_training(z, &g1, &b1, 1e-3).unwrap();
    let z = ops::conv2d_no_bias(a, &w2, 1, Padding::Same, false).unwrap();
    let (main, _) = batch_norm_training(z, &g2, &b2, 1e-3).unwrap();
    let plain = if projection {
        let z = ops::conv2d_no_bias(x.leaky_trace(), &ws, S, Padding::Same, false).unwrap();
        let (short, e) = batch_norm_training(z, &gs, &bs, 1e-3).unwrap();
        assert_eq!(stats.shortcut.as_ref(), Some(&e), "shortcut statistics");
        ops::add_relu(main, short).unwrap()
    } else {
        assert_eq!(stats.shortcut, None);
        // The identity shortcut: the input itself, with the same tape.
        let xr: Tensor<_, f32, Cpu, _> = x.leaky_trace();
        let xr = xr.try_reshape_like(main.shape()).unwrap();
        ops::add_relu(main, xr).unwrap()
    };
    let what = format!("{IN}->{OUT} stride {S}");
    assert_close(
        &fused.as_vec(),
        &plain.as_vec(),
        1e-5,
        &format!("{what}: output"),
    );
    let r = random_vec(&mut rng, fused.shape().num_elements());
    let rt = dev.tensor_from_vec(r, *fused.shape());
    let gf = (fused * rt.clone()).sum().backward();
    let gp = (plain * rt).sum().backward();
    let mut pairs = vec![
        ("input", gf.get(&x).as_vec(), gp.get(&x).as_vec()),
        ("conv1", gf.get(&w1).as_vec(), gp.get(&w1).as_vec()),
        ("gamma1", gf.get(&g1).as_vec(), gp.get(&g1).as_vec()),
        ("beta1", gf.get(&b1).as_vec(), gp.get(&b1).as_vec()),
        ("conv2", gf.get(&w2).as_vec(), gp.get(&w2).as_vec()),
        ("gamma2", gf.get(&g2).as_vec(), gp.get(&g2).as_vec()),
        ("beta2", gf.get(&b2).as_vec(), gp.get(&b2).as_vec()),
    ];
    if projection {
        pairs.push(("shortcut conv", gf.get(&ws).as_vec(), gp.get(&ws).as_vec()));
        pairs.push(("shortcut gamma", gf.get(&gs).as_vec(), gp.get(&gs).as_vec()));
        pairs.push(("shortcut beta", gf.get(&bs).as_vec(), gp.get(&bs).as_vec()));
    }
    for (name, f, p) in pairs {
        assert!(p.iter().any(|&v| v != 0.0), "{what}: {name}: zero gradient");
        assert_close(&f, &p, 1e-5, &format!("{what}: gradient of {name}"));
    }
}

#[test]
fn a_residual_unit_trained_as_one_op_has_the_gradients_of_its_ops() {
    check_fused_unit::<4, 4, 1>(41);
    check_fused_unit::<3, 5, 2>(42);
    check_fused_unit::<3, 5, 1>(43);
}

#[test]
fn an_identity_shortcut_beside_a_strided_main_path_is_a_clear_error() {
    let dev = Cpu::seed_from_u64(0);
    let w: Tensor<Rank4<3, 3, 2, 2>, f32, Cpu> = dev.sample_normal();
    let (g, b) = (dev.tensor([1.0f32; 2]), dev.tensor([0.0f32; 2]));
    let stage = |stride| ops::ConvBatchNorm {
        weight: &w,
        stride,
        padding: Padding::Same,
        gamma: &g,
        beta: &b,
        epsilon: 1e-3,
    };
    let x: Images<2> = dev.ones_like(&(1, 6, 6, Const::<2>));
    let err = ops::residual_unit_training(x, stage(2), stage(1), ops::Shortcut::Identity)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[3, 3, 2]") && err.contains("[6, 6, 2]"),
        "{err}"
    );
    assert!(err.contains("1x1 convolution"), "{err}");
}

#[test]
fn a_convolution_batch_norm_and_relu_trained_as_one_op_have_the_gradients_of_the_three() {
    // Stride 2 and odd sizes, with gamma and beta away from 1 and 0.
    let dev = Cpu::seed_from_u64(51);
    let mut rng = StdRng::seed_from_u64(51);
    let w: Tensor<Rank4<3, 3, 2, 4>, f32, Cpu> = dev.sample_normal();
    let t = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<4>,));
    let gamma = t(random_vec(&mut rng, 4).iter().map(|v| 1.0 + v).collect());
    let beta = t(random_vec(&mut rng, 4));
    let x = images::<2>(&dev, random_vec(&mut rng, 3 * 9 * 7 * 2), 3, 9, 7);
    for (stride, relu) in [(1, true), (2, true), (2, false)] {
        let stage = ops::ConvBatchNorm {
            weight: &w,
            stride,
            padding: Padding::Same,
            gamma: &gamma,
            beta: &beta,
            epsilon: 1e-3,
        };
        let (fused, stats) = ops::conv_batch_norm_training(x.leaky_trace(), stage, relu).unwrap();
        let z = ops::conv2d_no_bias(x.leaky_trace(), &w, stride, Padding::Same, false).unwrap();
        let (plain, expected) = if relu {
            ops::batch_norm_relu_training(z, &gamma, &beta, 1e-3).unwrap()
        } else {
            batch_norm_training(z, &gamma, &beta, 1e-3).unwrap()
        };
        let what = format!("stride {stride}, relu {relu}");
        assert_eq!(stats, expected, "{what}: statistics");
        assert_close(
            &fused.as_vec(),
            &plain.as_vec(),
            1e-6,
            &format!("{what}: output"),
        );
        let r = random_vec(&mut rng, fused.shape().num_elements());
        let rt = dev.tensor_from_vec(r, *fused.shape());
        let gf = (fused * rt.clone()).sum().backward();
        let gp = (plain * rt).sum().backward();
        for (name, f, p) in [
            ("input", gf.get(&x).as_vec(), gp.get(&x).as_vec()),
            ("kernel", gf.get(&w).as_vec(), gp.get(&w).as_vec()),
            ("gamma", gf.get(&gamma).as_vec(), gp.get(&gamma).as_vec()),
            ("beta", gf.get(&beta).as_vec(), gp.get(&beta).as_vec()),
        ] {
            assert!(p.iter().any(|&v| v != 0.0), "{what}: {name}: zero gradient");
            assert_close(&f, &p, 1e-5, &format!("{what}: gradient of {name}"));
        }
    }
}

#[test]
fn the_fused_stem_keeps_the_names_and_rows_of_its_tuple() {
    use cnnkit_nn::layers::ConvBnRelu;
    type Plain = (Conv2DNoBias<1, 8, 3, 2, Same>, BatchNorm<8>, Relu);
    type Fused = ConvBnRelu<Conv2DNoBias<1, 8, 3, 2, Same>, BatchNorm<8>>;
    let dev = Cpu::seed_from_u64(0);
    let (plain, fused) = (
        dev.build_module::<Plain, f32>(),
        dev.build_module::<Fused, f32>(),
    );
    let names = |w: Vec<(String, Vec<f32>)>| w.into_iter().map(|(n, _)| n).collect::<Vec<_>>();
    assert_eq!(
        names(named_weights(&fused).unwrap()),
        names(named_weights(&plain).unwrap())
    );
    let rows = |s: cnnkit_nn::model::Summary| {
        s.layers
            .iter()
            .map(|r| (r.name.clone(), r.kind, r.output, r.params))
            .collect::<Vec<_>>()
    };
    let input = [9, 7, 1];
    assert_eq!(
        rows(summary(&fused, input).unwrap()),
        rows(summary(&plain, input).unwrap())
    );
    // Inference folds the normalization into the filters: the plain tuple's values, with
    // statistics and parameters away from their initial values. With a tape, layer by layer.
    let mut fused = fused;
    let mut rng = StdRng::seed_from_u64(2);
    let t = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<8>,));
    fused.bn.gamma = t(random_vec(&mut rng, 8).iter().map(|v| 1.0 + v).collect());
    fused.bn.beta = t(random_vec(&mut rng, 8));
    fused.bn.moving_mean = t(random_vec(&mut rng, 8));
    fused.bn.moving_variance = t(random_vec(&mut rng, 8).iter().map(|v| 1.5 + v).collect());
    let x = images::<1>(
        &dev,
        random_vec(&mut StdRng::seed_from_u64(1), 2 * 9 * 7),
        2,
        9,
        7,
    );
    let (f, p) = (
        fused.forward(x.clone()),
        (fused.conv.clone(), fused.bn.clone(), Relu).forward(x.clone()),
    );
    assert_close(&f.as_vec(), &p.as_vec(), 1e-5, "folded stem");
    // With a tape (inference mode, fine-tuning with frozen statistics): layer by layer, the
    // same values, and gradients reach the convolution's own filters.
    let taped = fused.forward(x.leaky_trace());
    assert_close(&taped.as_vec(), &f.as_vec(), 1e-5, "taped inference");
    let grads = taped.sum().backward();
    assert!(grads
        .get(&fused.conv.weight)
        .as_vec()
        .iter()
        .any(|&g| g != 0.0));
}

#[test]
fn fused_ops_add_up_shared_parameters_and_skip_the_input_gradient_on_request() {
    // Both stages of an identity unit with the same kernel, gamma and beta tensors.
    let dev = Cpu::seed_from_u64(61);
    let mut rng = StdRng::seed_from_u64(61);
    let w: Tensor<Rank4<3, 3, 4, 4>, f32, Cpu> = dev.sample_normal();
    let t = |v: Vec<f32>| dev.tensor_from_vec(v, (Const::<4>,));
    let gamma = t(random_vec(&mut rng, 4).iter().map(|v| 1.0 + v).collect());
    let beta = t(random_vec(&mut rng, 4));
    let x = images::<4>(&dev, random_vec(&mut rng, 2 * 7 * 5 * 4), 2, 7, 5);
    let stage = || ops::ConvBatchNorm {
        weight: &w,
        stride: 1,
        padding: Padding::Same,
        gamma: &gamma,
        beta: &beta,
        epsilon: 1e-3,
    };
    let unit = |x: Images<4, OwnedTape<f32, Cpu>>| {
        ops::residual_unit_training(x, stage(), stage(), ops::Shortcut::Identity)
            .unwrap()
            .0
    };
    let r = random_vec(&mut rng, x.shape().num_elements());
    let rt = dev.tensor_from_vec(r, *x.shape());
    let fused = unit(x.leaky_trace());
    let gf = (fused * rt.clone()).sum().backward();
    let z = ops::conv2d_no_bias(x.leaky_trace(), &w, 1, Padding::Same, false).unwrap();
    let (a, _) = ops::batch_norm_relu_training(z, &gamma, &beta, 1e-3).unwrap();
    let z = ops::conv2d_no_bias(a, &w, 1, Padding::Same, false).unwrap();
    let (main, _) = batch_norm_training(z, &gamma, &beta, 1e-3).unwrap();
    let xr = x.leaky_trace().try_reshape_like(main.shape()).unwrap();
    let plain = ops::add_relu(main, xr).unwrap();
    let gp = (plain * rt.clone()).sum().backward();
    for (name, f, p) in [
        ("input", gf.get(&x).as_vec(), gp.get(&x).as_vec()),
        ("shared kernel", gf.get(&w).as_vec(), gp.get(&w).as_vec()),
        (
            "shared gamma",
            gf.get(&gamma).as_vec(),
            gp.get(&gamma).as_vec(),
        ),
        (
            "shared beta",
            gf.get(&beta).as_vec(),
            gp.get(&beta).as_vec(),
        ),
    ] {
        assert_close(&f, &p, 1e-5, &format!("gradient of {name}"));
    }
    // Without the input's gradient (fit's first layer): the same parameter gradients.
    let y = ops::without_input_gradient(|| unit(x.leaky_trace()));
    let g = (y * rt).sum().backward();
    for (name, a, b) in [
        ("kernel", g.get(&w).as_vec(), gf.get(&w).as_vec()),
        ("gamma", g.get(&gamma).as_vec(), gf.get(&gamma).as_vec()),
        ("beta", g.get(&beta).as_vec(), gf.get(&beta).as_vec()),
    ] {
        assert_eq!(a, b, "{name} without the input gradient");
    }
}

#[test]
fn an_identity_residual_unit_trains_as_the_plain_skip_connection() {
    // ResidualUnit (FusedResidual) against Residual<ResidualMain, Identity, Relu> with the
    // same parameters: outputs, input gradient and moving averages after two steps.
    type Plain = Residual<cnnkit_nn::layers::ResidualMain<4, 4, 1>, Identity, Relu>;
    let dev = Cpu::seed_from_u64(71);
    let mut fused = dev.build_module::<ResidualUnit<4>, f32>();
    let mut plain = dev.build_module::<Plain, f32>();
    plain.main = fused.inner.0.main.clone();
    let mut rng = StdRng::seed_from_u64(71);
    for _ in 0..2 {
        let x = images::<4>(&dev, random_vec(&mut rng, 3 * 5 * 7 * 4), 3, 5, 7);
        let r = dev.tensor_from_vec(random_vec(&mut rng, 3 * 5 * 7 * 4), *x.shape());
        let (yf, yp) = (
            fused.forward_mut(x.leaky_trace()),
            plain.forward_mut(x.leaky_trace()),
        );
        assert_close(&yf.as_vec(), &yp.as_vec(), 1e-5, "output");
        let gf = (yf * r.clone()).sum().backward();
        let gp = (yp * r).sum().backward();
        assert_close(
            &gf.get(&x).as_vec(),
            &gp.get(&x).as_vec(),
            1e-5,
            "input gradient",
        );
    }
    let (bf, bp) = (&fused.inner.0.main.bn2, &plain.main.bn2);
    let what = "moving variance after two steps";
    assert_close(
        &bf.moving_variance.as_vec(),
        &bp.moving_variance.as_vec(),
        1e-5,
        what,
    );
    assert_ne!(
        bf.moving_variance.as_vec(),
        vec![1.0; 4],
        "the averages did not move"
    );
}
