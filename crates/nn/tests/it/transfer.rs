//! Transfer learning's building blocks: frozen layers in `fit` and `summary`, data sets by
//! class, and training runs that give the same bits for every thread count (what lets the
//! shipped pretrained weights be reproduced on another machine).

use cnnkit_nn::prelude::*;
use ndarray::Array4;
use rand::{Rng, SeedableRng};

fn params(model: &impl dfdx::nn::tensor_collection::TensorCollection<f32, Cpu>) -> Vec<u32> {
    cnnkit_nn::checkpoint::named_weights(model)
        .unwrap()
        .iter()
        .flat_map(|(_, v)| v.iter().map(|x| x.to_bits()))
        .collect()
}

type Base = (
    Conv2DNoBias<1, 8, 3, 1, Same>,
    BatchNorm<8>,
    Relu,
    MaxPool2D<2>,
    GlobalAvgPool2D,
);

#[test]
fn a_frozen_base_keeps_its_bits_and_its_moving_statistics_while_the_head_learns() {
    let dev = Cpu::seed_from_u64(1);
    let mut base = dev.build_module::<Base, f32>();
    // Give the moving statistics values of their own, so that an update would show.
    let data = cnnkit_nn::train::toy_bars(64, 3);
    let mut warm = (base.clone(), dev.build_module::<Dense<8, 2>, f32>());
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 16,
        verbose: false,
        ..FitConfig::default()
    };
    fit(&mut warm, &data, None, &cfg).unwrap();
    base = warm.0;
    let before = params(&base);
    let head = dev.build_module::<Dense<8, 2>, f32>();
    let head_before = params(&head);
    let mut model = (Frozen::new(base), head);
    let s = summary(&model, [6, 6, 1]).unwrap();
    assert_eq!(s.trainable_params(), 18);
    assert_eq!(s.non_trainable_params(), 72 + 32);
    assert!(s.layers[..5].iter().all(|r| r.config.starts_with("frozen")));
    fit(&mut model, &data, Some(&data), &cfg).unwrap();
    assert_eq!(params(&model.0), before, "the frozen base changed");
    assert_ne!(params(&model.1), head_before, "the head did not learn");
    // The frozen base computes in inference mode, also inside fit: its output for a batch
    // equals the plain inference pass of the same layers.
    let x: Images<1> = dev.sample_uniform_like(&(4, 6, 6, Const::<1>));
    let frozen_out = model.0.forward_mut(x.clone().traced(model.alloc_grads()));
    assert_eq!(frozen_out.as_vec(), model.0.inner.forward(x).as_vec());
}

#[test]
fn unfreezing_trains_the_base_again() {
    let dev = Cpu::seed_from_u64(2);
    let model = (
        Frozen::new(dev.build_module::<Base, f32>()),
        dev.build_module::<Dense<8, 2>, f32>(),
    );
    let (frozen, head) = model;
    let base = frozen.into_inner();
    let before = params(&base);
    let mut model = (base, head);
    assert_eq!(
        summary(&model, [6, 6, 1]).unwrap().non_trainable_params(),
        16
    );
    let data = cnnkit_nn::train::toy_bars(64, 4);
    let cfg = FitConfig {
        epochs: 1,
        batch_size: 16,
        lr: 1e-4,
        verbose: false,
        ..FitConfig::default()
    };
    fit(&mut model, &data, None, &cfg).unwrap();
    assert_ne!(params(&model.0), before);
}

#[test]
fn summary_refuses_a_trainable_layer_before_a_frozen_one() {
    let dev = Cpu::seed_from_u64(0);
    let model = (
        dev.build_module::<Conv2D<1, 4, 3, 1, Same, Relu>, f32>(),
        Frozen::new(dev.build_module::<(Conv2D<4, 4, 3, 1, Same, Relu>, GlobalAvgPool2D), f32>()),
        dev.build_module::<Dense<4, 2>, f32>(),
    );
    let err = summary(&model, [6, 6, 1]).unwrap_err().to_string();
    assert!(
        err.contains("conv2d_1 (Conv2D) passes no gradient back")
            && err.contains("conv2d (Conv2D)")
            && err.contains("would never learn"),
        "{err}"
    );
    // fit checks the model with summary first, so it refuses before any step.
    let mut model = model;
    let data = cnnkit_nn::train::toy_bars(16, 0);
    let cfg = FitConfig {
        epochs: 1,
        verbose: false,
        ..FitConfig::default()
    };
    assert!(fit(&mut model, &data, None, &cfg).is_err());
    // A frozen block after another frozen block is fine.
    let ok = (
        Frozen::new(dev.build_module::<Conv2D<1, 4, 3, 1, Same, Relu>, f32>()),
        Frozen::new(dev.build_module::<(Conv2D<4, 4, 3, 1, Same, Relu>, GlobalAvgPool2D), f32>()),
        dev.build_module::<Dense<4, 2>, f32>(),
    );
    assert_eq!(summary(&ok, [6, 6, 1]).unwrap().trainable_params(), 10);
}

/// The lecture's layer kinds at sizes that take every parallel reduction of the kernels:
/// a 7x7 first layer on one channel (the direct weight gradient), 3x3 layers (Winograd),
/// batch normalization, a dense layer whose bias gradient is a column sum over a long batch.
type Reproduced = (
    (Conv2D<1, 16, 7, 1, Same, Relu>, MaxPool2D<2>),
    (Conv2DNoBias<16, 16, 3, 1, Same>, BatchNorm<16>, Relu),
    MaxPool2D<2>,
    Flatten,
    Dense<{ 7 * 7 * 16 }, 10>,
);

fn train_in_pool(threads: usize) -> Vec<u32> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        let n = 96;
        let images = Array4::from_shape_fn((n, 28, 28, 1), |_| rng.gen_range(0.0..1.0f32));
        let labels = (0..n).map(|i| (i % 10) as u8).collect();
        let data = Dataset::<1>::new(images, labels).unwrap();
        let mut model = Cpu::seed_from_u64(9).build_module::<Reproduced, f32>();
        let cfg = FitConfig {
            epochs: 1,
            batch_size: 48,
            verbose: false,
            ..FitConfig::default()
        };
        fit(&mut model, &data, None, &cfg).unwrap();
        params(&model)
    })
}

#[test]
fn training_gives_the_same_bits_for_every_thread_count() {
    let one = train_in_pool(1);
    for (threads, what) in [
        (2, "2 threads"),
        (3, "3 threads"),
        (2, "a second run with 2 threads"),
    ] {
        let other = train_in_pool(threads);
        let differ = one.iter().zip(&other).filter(|(a, b)| a != b).count();
        assert!(
            differ == 0 && one.len() == other.len(),
            "1 thread and {what} differ in {differ} of {} weights",
            one.len()
        );
    }
}
