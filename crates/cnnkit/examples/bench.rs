//! Benchmark of the lecture's Fashion-MNIST CNN, and of notebook 07's small ResNet, on
//! this machine's CPU.
//!
//! ```text
//! cargo run --release -p cnnkit --example bench              # 400 steps at batch 32 (< 2 minutes)
//! cargo run --release -p cnnkit --example bench -- --quick   # smoke run for CI
//! cargo run --release -p cnnkit --example bench -- --winograd    # only the machine and
//!                                        # both Winograd tiles, pass by pass (seconds)
//! cargo run --release -p cnnkit --example bench -- --transpose   # only the machine and
//!                                        # the transposed-convolution table (seconds)
//! cargo run --release -p cnnkit --example bench -- --units   # only the machine and the
//!                                        # small ResNet's units and their pieces (seconds)
//! cargo run --release -p cnnkit --example bench -- --only resnet --steps 200   # one model's
//!                                        # training and inference alone (under a minute)
//! cargo run --release -p cnnkit --example bench -- --steps 1000   # the comparison with
//!                                        # PyTorch and Keras over 1,000 steps (~3 minutes)
//! cargo run --profile evcxr-tuned -p cnnkit --example bench  # as inside a notebook cell
//! ```
//!
//! Prints: the machine's FMA peak and a large GEMM for reference; forward and backward
//! time of every layer at batch 32; training images/s at batch 32 and 128 (with GFLOP/s
//! and the fraction of the FMA peak); inference images/s at batch 256; peak resident
//! memory. Then the same for the small ResNet (`architectures::SmallResNet`), with the
//! time of each of its units and of batch normalization, the residual addition and a
//! depthwise convolution beside a convolution of the same size. Between the two, the
//! transposed convolution of a segmentation decoder beside the convolution it is the
//! gradient of, as kernels and as layers. Compare with PyTorch and Keras in the same run with
//! `scripts/anchor_bench.py` (`make bench-anchors`, see docs/performance.md).

use std::time::Instant;

use cnnkit::architectures::{LectureCnn, SmallResNet};
use cnnkit::arith::Padding;
use cnnkit::prelude::*;
use cnnkit::train::Classifier;
use cnnkit_kernels::conv::{self, ConvGeometry};
use cnnkit_kernels::matmul::{matmul, MatRef};
use cnnkit_kernels::pool::{self, PoolGeometry};
use dfdx::nn::BuildOnDevice;
use ndarray::Array4;
use rand::{Rng, SeedableRng};

struct Args {
    quick: bool,
    steps: usize,
    transpose_only: bool,
    winograd_only: bool,
    units_only: bool,
    /// Only the training and inference of one model: `Some(true)` the small ResNet,
    /// `Some(false)` the lecture's CNN.
    only: Option<bool>,
}

fn args() -> Args {
    let mut a = Args {
        quick: false,
        steps: 400,
        transpose_only: false,
        winograd_only: false,
        units_only: false,
        only: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--quick" => {
                a.quick = true;
                a.steps = 20;
            }
            "--transpose" => a.transpose_only = true,
            "--winograd" => a.winograd_only = true,
            "--units" => a.units_only = true,
            "--only" => match it.next().as_deref() {
                Some("lecture") => a.only = Some(false),
                Some("resnet") => a.only = Some(true),
                _ => usage("--only needs lecture or resnet"),
            },
            "--steps" => match it.next().and_then(|s| s.parse().ok()) {
                Some(n) if n > 0 => a.steps = n,
                _ => usage("--steps needs a positive number of training steps"),
            },
            other => usage(&format!("unknown argument {other}")),
        }
    }
    a
}

fn usage(problem: &str) -> ! {
    eprintln!("bench: {problem}\nusage: bench [--quick] [--transpose] [--winograd] [--units] [--only lecture|resnet] [--steps N]");
    std::process::exit(2)
}

/// Best of `reps` timings of `f`, in seconds.
fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

/// FMA throughput of one core with 12 independent AVX-512 (or AVX2) accumulator chains.
#[cfg(target_arch = "x86_64")]
fn fma_gflops_one_thread() -> (f64, &'static str) {
    use std::arch::x86_64::*;
    const ITERS: usize = 20_000_000;
    #[target_feature(enable = "avx512f")]
    unsafe fn avx512() -> f32 {
        let a = _mm512_set1_ps(0.999_999);
        let b = _mm512_set1_ps(1e-7);
        let mut acc = [_mm512_set1_ps(1.0); 12];
        for _ in 0..ITERS {
            for v in acc.iter_mut() {
                *v = _mm512_fmadd_ps(*v, a, b);
            }
        }
        acc.iter().map(|v| _mm512_reduce_add_ps(*v)).sum()
    }
    #[target_feature(enable = "avx2,fma")]
    unsafe fn avx2() -> f32 {
        let a = _mm256_set1_ps(0.999_999);
        let b = _mm256_set1_ps(1e-7);
        let mut acc = [_mm256_set1_ps(1.0); 12];
        for _ in 0..ITERS {
            for v in acc.iter_mut() {
                *v = _mm256_fmadd_ps(*v, a, b);
            }
        }
        let mut out = [0.0f32; 8];
        let mut s = 0.0;
        for v in acc {
            // SAFETY: `out` holds the 8 floats the store writes.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
            s += out.iter().sum::<f32>();
        }
        s
    }
    let (lanes, name) = if is_x86_feature_detected!("avx512f") {
        (16.0, "AVX-512")
    } else if is_x86_feature_detected!("fma") {
        (8.0, "AVX2+FMA")
    } else {
        return (0.0, "no FMA");
    };
    let t = Instant::now();
    // SAFETY: the feature was detected above.
    let sink = unsafe {
        if lanes == 16.0 {
            avx512()
        } else {
            avx2()
        }
    };
    let dt = t.elapsed().as_secs_f64();
    std::hint::black_box(sink);
    (ITERS as f64 * 12.0 * lanes * 2.0 / dt / 1e9, name)
}

#[cfg(not(target_arch = "x86_64"))]
fn fma_gflops_one_thread() -> (f64, &'static str) {
    (0.0, "not measured on this architecture")
}

fn fma_peak() -> (f64, &'static str) {
    use rayon::prelude::*;
    let threads = rayon::current_num_threads();
    let results: Vec<(f64, &'static str)> = (0..threads)
        .into_par_iter()
        .map(|_| fma_gflops_one_thread())
        .collect();
    (results.iter().map(|r| r.0).sum(), results[0].1)
}

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
}

/// One layer of the lecture's model for the per-layer table.
enum Layer {
    Conv { name: &'static str, g: ConvGeometry },
    Pool { name: &'static str, g: PoolGeometry },
}

fn lecture_layers(batch: usize) -> Vec<Layer> {
    let conv = |name, hw, c, o, k| Layer::Conv {
        name,
        g: ConvGeometry::new(batch, (hw, hw, c), o, (k, k), (1, 1), Padding::Same).unwrap(),
    };
    let pool = |name, hw, c| Layer::Pool {
        name,
        g: PoolGeometry::new(batch, (hw, hw, c), (2, 2), (2, 2), Padding::Valid).unwrap(),
    };
    vec![
        conv("conv2d   28x28x1->64 k7", 28, 1, 64, 7),
        pool("max_pool 28x28x64", 28, 64),
        conv("conv2d_1 14x14x64->128", 14, 64, 128, 3),
        conv("conv2d_2 14x14x128->128", 14, 128, 128, 3),
        pool("max_pool 14x14x128", 14, 128),
        conv("conv2d_3 7x7x128->256", 7, 128, 256, 3),
        conv("conv2d_4 7x7x256->256", 7, 256, 256, 3),
        pool("max_pool 7x7x256", 7, 256),
    ]
}

/// Forward FLOPs of one image through the whole model (convolutions and dense layers).
fn forward_flops_per_image() -> f64 {
    let convs: f64 = lecture_layers(1)
        .iter()
        .map(|l| match l {
            Layer::Conv { g, .. } => g.forward_flops(),
            Layer::Pool { .. } => 0.0,
        })
        .sum();
    convs + 2.0 * (2304.0 * 128.0 + 128.0 * 64.0 + 64.0 * 10.0)
}

fn per_layer_table(batch: usize, reps: usize) {
    println!("\n[layers] batch {batch}, best of {reps}: forward and backward (input, weight and bias gradients)");
    println!(
        "  {:<26}{:>10}{:>10}{:>10}{:>10}",
        "layer", "fwd ms", "GFLOP/s", "bwd ms", "GFLOP/s"
    );
    let (mut total_f, mut total_b) = (0.0, 0.0);
    for layer in lecture_layers(batch) {
        match layer {
            Layer::Conv { name, g } => {
                let x = random(g.input_len(), 1);
                let w = random(g.weight_len(), 2);
                let b = random(g.out_c, 3);
                let mut out = vec![0.0; g.output_len()];
                let tf = best_of(reps, || {
                    conv::conv2d_forward(&g, &x, &w, &b, true, &mut out);
                });
                let mut dx = vec![0.0; g.input_len()];
                let mut dw = vec![0.0; g.weight_len()];
                let mut db = vec![0.0; g.out_c];
                // Backward alone: an untimed forward pass before each one.
                let mut tb = f64::INFINITY;
                for _ in 0..=reps {
                    conv::conv2d_forward(&g, &x, &w, &b, true, &mut out);
                    let mut dout = out.clone();
                    let t = Instant::now();
                    conv::conv2d_backward(
                        &g,
                        &x,
                        &w,
                        &out,
                        true,
                        &mut dout,
                        Some(&mut dx),
                        &mut dw,
                        &mut db,
                    );
                    tb = tb.min(t.elapsed().as_secs_f64());
                }
                let flops = g.forward_flops();
                println!(
                    "  {name:<26}{:>10.2}{:>10.0}{:>10.2}{:>10.0}",
                    tf * 1e3,
                    flops / tf / 1e9,
                    tb * 1e3,
                    2.0 * flops / tb / 1e9
                );
                total_f += tf;
                total_b += tb;
            }
            Layer::Pool { name, g } => {
                let x = random(g.input_len(), 4);
                let mut out = vec![0.0; g.output_len()];
                let mut arg = vec![0u32; g.output_len()];
                let tf = best_of(reps, || pool::max_pool_forward(&g, &x, &mut out, &mut arg));
                let mut dx = vec![0.0; g.input_len()];
                let tb = best_of(reps, || pool::max_pool_backward(&g, &arg, &out, &mut dx));
                println!(
                    "  {name:<26}{:>10.2}{:>10}{:>10.2}{:>10}",
                    tf * 1e3,
                    "-",
                    tb * 1e3,
                    "-"
                );
                total_f += tf;
                total_b += tb;
            }
        }
    }
    println!(
        "  {:<26}{:>10.2}{:>10}{:>10.2}",
        "conv+pool total",
        total_f * 1e3,
        "",
        total_b * 1e3
    );
}

fn data(n: usize) -> (Dataset<1>, &'static str) {
    if let Ok(fm) = cnnkit::data::FashionMnist::load() {
        let n = n.min(fm.train.len());
        let images =
            Array4::from_shape_vec((n, 28, 28, 1), fm.train.images_f32()[..n * 784].to_vec())
                .unwrap();
        let labels = fm.train.labels[..n].to_vec();
        return (Dataset::new(images, labels).unwrap(), "real Fashion-MNIST");
    }
    let images = Array4::from_shape_vec(
        (n, 28, 28, 1),
        random(n * 784, 9).iter().map(|v| v.abs()).collect(),
    )
    .unwrap();
    let labels = (0..n).map(|i| (i % 10) as u8).collect();
    (
        Dataset::new(images, labels).unwrap(),
        "synthetic (Fashion-MNIST not found)",
    )
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// Training images/s of model `M` over `steps` steps; `flops` is its forward FLOPs per image.
fn train_speed<M>(data: &Dataset<1>, batch: usize, steps: usize, peak: f64, flops: f64) -> f64
where
    M: BuildOnDevice<Cpu, f32>,
    M::Built: Classifier<1, 10>,
{
    let dev = Cpu::seed_from_u64(0);
    let mut model = dev.build_module::<M, f32>();
    let warm = FitConfig {
        epochs: 1,
        batch_size: batch,
        verbose: false,
        max_batches: Some(3),
        ..Default::default()
    };
    fit(&mut model, data, None, &warm).unwrap();
    let per_epoch = data.len() / batch;
    let epochs = steps.div_ceil(per_epoch);
    let t = Instant::now();
    let mut done = 0;
    for e in 0..epochs {
        let cfg = FitConfig {
            epochs: 1,
            batch_size: batch,
            verbose: false,
            seed: e as u64,
            max_batches: Some((steps - done).min(per_epoch)),
            ..Default::default()
        };
        fit(&mut model, data, None, &cfg).unwrap();
        done += (steps - done).min(per_epoch);
    }
    let dt = t.elapsed().as_secs_f64();
    let ips = (steps * batch) as f64 / dt;
    let gflops = ips * 3.0 * flops / 1e9;
    println!(
        "[train] batch {batch:>3}: {steps} steps in {dt:.1}s: {ips:.1} images/s, {gflops:.0} GFLOP/s = {:.0}% of the FMA peak",
        100.0 * gflops / peak
    );
    ips
}

fn main() {
    let started = Instant::now();
    let a = args();
    let threads = rayon::current_num_threads();
    println!("cnnkit benchmark: the lecture's Fashion-MNIST CNN (1,413,834 parameters), fp32, CPU");
    let (peak, isa) = fma_peak();
    println!("[machine] {threads} threads; FMA peak {peak:.0} GFLOP/s ({isa}, measured)");
    let n = 1024;
    let (ma, mb) = (random(n * n, 5), random(n * n, 6));
    let mut mc = vec![0.0; n * n];
    let tg = best_of(3, || {
        matmul(
            &mut mc,
            MatRef::row_major(&ma, n, n),
            MatRef::row_major(&mb, n, n),
            false,
        )
    });
    let gg = 2.0 * (n * n * n) as f64 / tg / 1e9;
    println!(
        "[machine] gemm 1024^3: {gg:.0} GFLOP/s ({:.0}% of the FMA peak)",
        100.0 * gg / peak
    );
    let fpi = forward_flops_per_image();
    println!(
        "[model] {:.3} GFLOP per image forward, {:.3} per training image (x3), counted as \
         direct convolutions: Winograd layers need fewer, so GFLOP/s can exceed the peak",
        fpi / 1e9,
        3.0 * fpi / 1e9
    );
    println!(
        "[kernels] tile transforms and pooling compiled for {} (CNNKIT_SIMD=avx2|baseline to compare)",
        cnnkit_kernels::simd::instruction_set().name()
    );

    if a.transpose_only {
        transpose_table(32, if a.quick { 2 } else { 10 });
        return;
    }
    if a.winograd_only {
        winograd_table(32, if a.quick { 2 } else { 5 });
        return;
    }
    if a.units_only {
        resnet_unit_table(32, if a.quick { 2 } else { 5 });
        return;
    }
    if let Some(resnet) = a.only {
        let (train, source) = data(if a.quick { 2048 } else { 12_800 });
        println!("[data] {source}, {} training images", train.len());
        let test = train.slice(0..train.len().min(if a.quick { 1024 } else { 10_000 }));
        if resnet {
            train_speed::<SmallResNet>(&train, 32, a.steps, peak, resnet_flops_per_image());
            predict_speed::<SmallResNet>(&test);
        } else {
            train_speed::<LectureCnn>(&train, 32, a.steps, peak, fpi);
            predict_speed::<LectureCnn>(&test);
        }
        return;
    }
    per_layer_table(32, if a.quick { 2 } else { 5 });
    winograd_table(32, if a.quick { 2 } else { 5 });
    transpose_table(32, if a.quick { 2 } else { 5 });

    let (train, source) = data(if a.quick { 2048 } else { 12_800 });
    println!("\n[data] {source}, {} training images", train.len());
    train_speed::<LectureCnn>(&train, 32, a.steps, peak, fpi);

    let test = train.slice(0..train.len().min(if a.quick { 1024 } else { 10_000 }));
    predict_speed::<LectureCnn>(&test);

    let steps128 = if a.quick { 5 } else { (a.steps / 8).max(30) };
    train_speed::<LectureCnn>(&train, 128, steps128, peak, fpi);
    println!(
        "[memory] peak resident memory: {:.0} MB (after training at batch 128)",
        peak_rss_mb()
    );

    println!(
        "\n== the small ResNet of notebook 07 (architectures::SmallResNet, 679,594 parameters) =="
    );
    let rfpi = resnet_flops_per_image();
    println!(
        "[model] {:.3} GFLOP per image forward (convolutions and the dense layer)",
        rfpi / 1e9
    );
    resnet_unit_table(32, if a.quick { 2 } else { 5 });
    train_speed::<SmallResNet>(&train, 32, a.steps, peak, rfpi);
    predict_speed::<SmallResNet>(&test);
    println!(
        "[bench] {} profile, finished in {:.0} s",
        if cfg!(debug_assertions) {
            "a debug-checked"
        } else {
            "an optimised"
        },
        started.elapsed().as_secs_f64()
    );
}

/// Inference images/s of model `M` (freshly initialised) at `predict`'s batch of 256.
fn predict_speed<M>(test: &Dataset<1>)
where
    M: BuildOnDevice<Cpu, f32>,
    M::Built: Classifier<1, 10>,
{
    let model = Cpu::seed_from_u64(1).build_module::<M, f32>();
    let _ = predict(&model, &test.slice(0..256)).unwrap();
    let t = Instant::now();
    let _ = predict(&model, test).unwrap();
    let dt = t.elapsed().as_secs_f64();
    println!(
        "[predict] batch 256: {} images in {dt:.2}s: {:.1} images/s",
        test.len(),
        test.len() as f64 / dt
    );
}

/// Forward FLOPs of one 28x28 image through the small ResNet.
fn resnet_flops_per_image() -> f64 {
    let conv = |hw: usize, c: usize, o: usize, k: usize, s: usize| {
        ConvGeometry::new(1, (hw, hw, c), o, (k, k), (s, s), Padding::Same)
            .unwrap()
            .forward_flops()
    };
    let unit = |hw: usize, c: usize| 2.0 * conv(hw, c, c, 3, 1);
    let down = |hw: usize, c: usize, o: usize| {
        conv(hw, c, o, 3, 2) + conv(hw / 2, o, o, 3, 1) + conv(hw, c, o, 1, 2)
    };
    conv(28, 1, 32, 3, 1)
        + unit(28, 32)
        + down(28, 32, 64)
        + unit(14, 64)
        + down(14, 64, 128)
        + unit(7, 128)
        + 2.0 * 128.0 * 10.0
}

/// Times one layer (or unit) `$ty` on a batch of `$batch` images `$hw x $hw x $c`, best
/// of `$reps`: inference forward, training forward (batch statistics, tape) and backward.
macro_rules! time_unit {
    ($reps:expr, $name:expr, $ty:ty, $c:literal, $hw:expr, $batch:expr) => {{
        let dev = Cpu::seed_from_u64(0);
        let mut m = dev.build_module::<$ty, f32>();
        let (b, hw) = ($batch, $hw);
        let x: Images<$c> =
            dev.tensor_from_vec(random(b * hw * hw * $c, 4), (b, hw, hw, Const::<$c>));
        let (mut inf, mut fwd, mut bwd) = (f64::INFINITY, f64::INFINITY, f64::INFINITY);
        for _ in 0..$reps {
            let t = Instant::now();
            let _ = m.forward(x.clone());
            inf = inf.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            let y = m.forward_mut(x.leaky_trace());
            let tf = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let _ = y.sum().backward();
            fwd = fwd.min(tf);
            bwd = bwd.min(t.elapsed().as_secs_f64());
        }
        println!(
            "  {:<34}{:>10.2}{:>10.2}{:>10.2}",
            $name,
            1e3 * inf,
            1e3 * fwd,
            1e3 * bwd
        );
        fwd + bwd
    }};
}

/// Both Winograd tiles on every 3x3 `same` layer of the lecture's CNN and the small
/// ResNet, pass by pass (forward, input gradient, weight gradient), beside what
/// `conv::select` chooses: the measurements behind its choice.
fn winograd_table(batch: usize, reps: usize) {
    use conv::winograd::{self, Tile};
    println!("\n[winograd] batch {batch}, best of {reps}: ms per pass, F(2x2,3x3) / F(4x4,3x3), * = chosen by conv::select");
    println!(
        "  {:<26}{:>18}{:>18}{:>18}",
        "layer", "forward", "input grad", "weight grad"
    );
    let layers = [
        ("lecture 14x14x64->128", 14, 64, 128),
        ("lecture 14x14x128->128", 14, 128, 128),
        ("lecture 7x7x128->256", 7, 128, 256),
        ("lecture 7x7x256->256", 7, 256, 256),
        ("resnet 28x28x32->32", 28, 32, 32),
        ("resnet 14x14x64->64", 14, 64, 64),
        ("resnet 7x7x128->128", 7, 128, 128),
    ];
    for (name, hw, c, o) in layers {
        let g = ConvGeometry::new(batch, (hw, hw, c), o, (3, 3), (1, 1), Padding::Same).unwrap();
        let plan = conv::select(&g);
        let (x, w, b) = (
            random(g.input_len(), 1),
            random(g.weight_len(), 2),
            random(o, 3),
        );
        let dz = random(g.output_len(), 4);
        let mut out = vec![0.0; g.output_len()];
        let mut dx = vec![0.0; g.input_len()];
        let mut dw = vec![0.0; g.weight_len()];
        let time = |tile: Tile, pass: usize, out: &mut [f32], dx: &mut [f32], dw: &mut [f32]| {
            best_of(reps, || match pass {
                0 => winograd::forward(tile, &g, &x, &w, &b, true, out),
                1 => winograd::input_grad(tile, &g, &dz, &w, dx),
                _ => winograd::weight_grad(tile, &g, &x, &dz, dw),
            })
        };
        let chosen = [
            plan.forward == conv::Algorithm::Winograd(Tile::F4),
            plan.input_grad == conv::Algorithm::Winograd(Tile::F4),
            plan.weight_grad == conv::WeightGradAlgorithm::Winograd(Tile::F4),
        ];
        let cells: Vec<String> = (0..3)
            .map(|pass| {
                let f2 = time(Tile::F2, pass, &mut out, &mut dx, &mut dw);
                let f4 = time(Tile::F4, pass, &mut out, &mut dx, &mut dw);
                let (s2, s4) = if chosen[pass] { (" ", "*") } else { ("*", " ") };
                format!("{:.2}{s2}/ {:.2}{s4}", 1e3 * f2, 1e3 * f4)
            })
            .collect();
        println!(
            "  {name:<26}{:>18}{:>18}{:>18}",
            cells[0], cells[1], cells[2]
        );
    }
}

/// Per-unit times of the small ResNet at batch `batch`, and its pieces at 28x28x32.
fn resnet_unit_table(batch: usize, reps: usize) {
    println!(
        "\n[units] batch {batch}, best of {reps}: inference forward, training forward and backward"
    );
    println!(
        "  {:<34}{:>10}{:>10}{:>10}",
        "unit", "infer ms", "fwd ms", "bwd ms"
    );
    let mut total = 0.0;
    total += time_unit!(
        reps,
        "stem conv+BN+relu 28x28x1->32",
        cnnkit::layers::ConvBnRelu<Conv2DNoBias<1, 32, 3, 1, Same>, BatchNorm<32>>,
        1,
        28,
        batch
    );
    total += time_unit!(
        reps,
        "residual_unit 28x28x32",
        ResidualUnit<32>,
        32,
        28,
        batch
    );
    total += time_unit!(reps, "residual_unit down 28x28x32->64", ResidualUnitDown<32, 64>, 32, 28, batch);
    total += time_unit!(
        reps,
        "residual_unit 14x14x64",
        ResidualUnit<64>,
        64,
        14,
        batch
    );
    total += time_unit!(reps, "residual_unit down 14x14x64->128", ResidualUnitDown<64, 128>, 64, 14, batch);
    total += time_unit!(
        reps,
        "residual_unit 7x7x128",
        ResidualUnit<128>,
        128,
        7,
        batch
    );
    println!("  {:<34}{:>30.2}", "units, training fwd + bwd", 1e3 * total);
    println!("  pieces at 28x28x32:");
    let _ = time_unit!(reps, "conv2d 3x3 no bias", Conv2DNoBias<32, 32, 3, 1, Same>, 32, 28, batch);
    let _ = time_unit!(reps, "batch normalization", BatchNorm<32>, 32, 28, batch);
    let _ = time_unit!(reps, "relu", Relu, 32, 28, batch);
    // Both convolutions and BNs, the first BN with its ReLU fused.
    let _ = time_unit!(reps, "main path (2 conv, 2 BN, relu)", cnnkit::layers::ResidualMain<32, 32, 1>, 32, 28, batch);
    let _ = time_unit!(
        reps,
        "residual addition (x + x)",
        Residual<Identity>,
        32,
        28,
        batch
    );
    let _ = time_unit!(
        reps,
        "addition + relu (fused)",
        Residual<Identity, Identity, Relu>,
        32,
        28,
        batch
    );
    let _ = time_unit!(reps, "depthwise conv 3x3", DepthwiseConv2D<32, 3, 1, Same>, 32, 28, batch);
}

/// A decoder's transposed convolution (16x16x32 to 32x32x16, 3x3, stride 2, `same`) beside
/// the convolution whose input gradient it is (32x32x16 to 16x16x32): the kernels' forward
/// and backward (input, weight and bias gradients) in the style of [`per_layer_table`],
/// then the layers with the tape as in a training step.
fn transpose_table(batch: usize, reps: usize) {
    println!(
        "\n[transpose] batch {batch}, best of {reps}: forward and backward (input, weight and bias gradients)"
    );
    println!(
        "  {:<38}{:>10}{:>10}{:>10}{:>10}",
        "layer", "fwd ms", "GFLOP/s", "bwd ms", "GFLOP/s"
    );
    let t = conv::TransposeGeometry::new(batch, (16, 16, 32), 16, (3, 3), (2, 2), Padding::Same)
        .unwrap();
    let (x, w, b) = (
        random(t.input_len(), 1),
        random(t.weight_len(), 2),
        random(t.out_c(), 3),
    );
    let mut out = vec![0.0; t.output_len()];
    let tf = best_of(reps, || {
        conv::conv2d_transpose_forward(&t, &x, &w, &b, true, &mut out)
    });
    let (mut dx, mut dw, mut db) = (
        vec![0.0; t.input_len()],
        vec![0.0; t.weight_len()],
        vec![0.0; t.out_c()],
    );
    let mut tb = f64::INFINITY;
    for _ in 0..=reps {
        conv::conv2d_transpose_forward(&t, &x, &w, &b, true, &mut out);
        let mut dout = out.clone();
        let start = Instant::now();
        conv::conv2d_transpose_backward(
            &t,
            &x,
            &w,
            &out,
            true,
            &mut dout,
            Some(&mut dx),
            &mut dw,
            &mut db,
        );
        tb = tb.min(start.elapsed().as_secs_f64());
    }
    let flops = t.forward_flops();
    println!(
        "  {:<38}{:>10.2}{:>10.0}{:>10.2}{:>10.0}",
        "conv2d_transpose 16x16x32->32x32x16 s2",
        tf * 1e3,
        flops / tf / 1e9,
        tb * 1e3,
        2.0 * flops / tb / 1e9
    );
    // The convolution of the same kernel: its input is the transposed one's output.
    let g = t.conv;
    let (x, b) = (random(g.input_len(), 4), random(g.out_c, 5));
    let mut out = vec![0.0; g.output_len()];
    let tf = best_of(reps, || {
        conv::conv2d_forward(&g, &x, &w, &b, true, &mut out)
    });
    let (mut dx, mut db) = (vec![0.0; g.input_len()], vec![0.0; g.out_c]);
    let mut tb = f64::INFINITY;
    for _ in 0..=reps {
        conv::conv2d_forward(&g, &x, &w, &b, true, &mut out);
        let mut dout = out.clone();
        let start = Instant::now();
        conv::conv2d_backward(
            &g,
            &x,
            &w,
            &out,
            true,
            &mut dout,
            Some(&mut dx),
            &mut dw,
            &mut db,
        );
        tb = tb.min(start.elapsed().as_secs_f64());
    }
    println!(
        "  {:<38}{:>10.2}{:>10.0}{:>10.2}{:>10.0}",
        "conv2d 32x32x16->16x16x32 s2",
        tf * 1e3,
        flops / tf / 1e9,
        tb * 1e3,
        2.0 * flops / tb / 1e9
    );
    println!("  layers with the tape: inference forward, training forward and backward");
    println!(
        "  {:<34}{:>10}{:>10}{:>10}",
        "layer", "infer ms", "fwd ms", "bwd ms"
    );
    let _ = time_unit!(
        reps,
        "Conv2DTranspose<32, 16, 3, 2, Same>",
        Conv2DTranspose<32, 16, 3, 2, Same, Relu>,
        32,
        16,
        batch
    );
    let _ = time_unit!(
        reps,
        "Conv2D<16, 32, 3, 2, Same>",
        Conv2D<16, 32, 3, 2, Same, Relu>,
        16,
        32,
        batch
    );
    let _ = time_unit!(
        reps,
        "UpSampling2D<2> 16x16x32",
        UpSampling2D<2>,
        32,
        16,
        batch
    );
    let _ = time_unit!(
        reps,
        "UpSampling2D<2, Bilinear> 16x16x32",
        UpSampling2D<2, Bilinear>,
        32,
        16,
        batch
    );
}
