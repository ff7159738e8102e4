//! The data augmentation layers (issue 13, part 2): the identity in inference, seeded and
//! reproducible in training, independent of the thread count, no gradient back to the
//! input, trainable in a model with `fit`, and placed before the trainable layers.
//!
//! The kernels themselves are tested against plain loops and TensorFlow's values in
//! `cnnkit-kernels` (`augment::tests`).

use cnnkit_nn::layers::FlipMode;
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::toy_bars;

/// A batch of `n` images `h x w x C` whose values are all different and in 0..1.
fn images<const C: usize>(n: usize, h: usize, w: usize) -> Images<C> {
    let len = n * h * w * C;
    let values = (0..len)
        .map(|i| ((i * 7919) % len) as f32 / len as f32)
        .collect();
    Cpu::default().tensor_from_vec(values, (n, h, w, Const::<C>))
}

type Everything = (
    RandomFlip<Horizontal>,
    RandomTranslation<10>,
    RandomRotation<15>,
    RandomZoom<10>,
    RandomContrast<20>,
);

#[test]
fn inference_returns_the_input_unchanged() {
    let mut layers = Cpu::default().build_module::<Everything, f32>();
    let x = images::<3>(4, 9, 7);
    assert_eq!(layers.forward(x.clone()).as_vec(), x.as_vec());
    // Also with a tape (a model evaluated inside a traced computation).
    let y = layers.forward(x.leaky_trace());
    assert_eq!(y.as_vec(), x.as_vec());
    // Inference draws nothing: training afterwards starts at call 0.
    assert_eq!(layers.0.calls(), 0);
    layers.forward_mut(x.clone());
    assert_eq!((layers.0.calls(), layers.4.calls()), (1, 1));
}

#[test]
fn training_changes_the_images_and_keeps_their_shape() {
    let dev = Cpu::default();
    let x = images::<3>(6, 9, 7);
    let changed = |y: Images<3>, what: &str| {
        assert_eq!(*y.shape(), *x.shape(), "{what}");
        assert_ne!(y.as_vec(), x.as_vec(), "{what} left the batch alone");
    };
    changed(
        dev.build_module::<RandomFlip, f32>().forward_mut(x.clone()),
        "RandomFlip",
    );
    changed(
        dev.build_module::<RandomTranslation<10>, f32>()
            .forward_mut(x.clone()),
        "RandomTranslation",
    );
    changed(
        dev.build_module::<RandomRotation<15>, f32>()
            .forward_mut(x.clone()),
        "RandomRotation",
    );
    changed(
        dev.build_module::<RandomZoom<10>, f32>()
            .forward_mut(x.clone()),
        "RandomZoom",
    );
    changed(
        dev.build_module::<RandomContrast<20>, f32>()
            .forward_mut(x.clone()),
        "RandomContrast",
    );
}

#[test]
fn factors_of_zero_are_the_identity_in_training_too() {
    type Zero = (
        RandomTranslation<0>,
        RandomRotation<0>,
        RandomZoom<0>,
        RandomContrast<0>,
    );
    let mut layers = Cpu::default().build_module::<Zero, f32>();
    let x = images::<2>(3, 5, 8);
    for _ in 0..3 {
        let y = layers.forward_mut(x.clone()).as_vec();
        for (a, b) in y.iter().zip(x.as_vec()) {
            assert!((a - b).abs() < 1e-6, "{a} vs {b}");
        }
    }
}

fn flips_of<M: FlipMode>(h: usize, w: usize) -> (usize, usize, usize) {
    let n = 200;
    let x = images::<1>(n, h, w);
    let mut flip = Cpu::default().build_module::<RandomFlip<M>, f32>();
    let y = flip.forward_mut(x.clone()).as_vec();
    let x = x.as_vec();
    let (mut kept, mut horizontal, mut both) = (0, 0, 0);
    for i in 0..n {
        let img = |v: &[f32], r: usize, c: usize| v[(i * h + r) * w + c];
        let same = |f: &dyn Fn(usize, usize) -> (usize, usize)| {
            (0..h).all(|r| {
                (0..w).all(|c| {
                    img(&y, r, c) == {
                        let (sr, sc) = f(r, c);
                        img(&x, sr, sc)
                    }
                })
            })
        };
        if same(&|r, c| (r, c)) {
            kept += 1;
        } else if same(&|r, c| (r, w - 1 - c)) {
            horizontal += 1;
        } else if same(&|r, c| (h - 1 - r, w - 1 - c)) {
            both += 1;
        } else {
            panic!("image {i} is neither kept nor flipped as {}", M::NAME);
        }
    }
    (kept, horizontal, both)
}

#[test]
fn flips_mirror_about_half_of_the_images() {
    let (kept, horizontal, both) = flips_of::<Horizontal>(3, 4);
    assert_eq!(both, 0);
    assert!(
        (70..=130).contains(&horizontal),
        "{kept} kept, {horizontal} flipped"
    );
    // Keras 3's horizontal_and_vertical: one draw flips both axes or none.
    let (kept, horizontal, both) = flips_of::<HorizontalAndVertical>(3, 4);
    assert_eq!(horizontal, 0);
    assert!((70..=130).contains(&both), "{kept} kept, {both} flipped");
}

#[test]
fn vertical_flips_swap_top_and_bottom() {
    let x = images::<1>(100, 3, 2);
    let mut flip = Cpu::default().build_module::<RandomFlip<Vertical>, f32>();
    let y = flip.forward_mut(x.clone()).as_vec();
    let x = x.as_vec();
    let flipped = (0..100)
        .filter(|&i| {
            let img = &y[i * 6..i * 6 + 6];
            let orig = &x[i * 6..i * 6 + 6];
            if img == orig {
                return false;
            }
            assert_eq!(img, [orig[4], orig[5], orig[2], orig[3], orig[0], orig[1]]);
            true
        })
        .count();
    assert!((30..=70).contains(&flipped), "{flipped} of 100 flipped");
}

#[test]
fn the_same_seed_gives_the_same_batches_and_every_call_another() {
    let dev = Cpu::default();
    let x = images::<1>(8, 10, 10);
    let mut a = dev.build_module::<Everything, f32>();
    let mut b = dev.build_module::<Everything, f32>();
    let a1 = a.forward_mut(x.clone()).as_vec();
    let a2 = a.forward_mut(x.clone()).as_vec();
    assert_eq!(b.forward_mut(x.clone()).as_vec(), a1);
    assert_eq!(b.forward_mut(x.clone()).as_vec(), a2);
    assert_ne!(a1, a2, "a second call drew the same settings");
    // Every image of a batch gets its own draws: two copies of one image differ.
    let rotate = dev
        .build_module::<RandomRotation<30>, f32>()
        .forward_mut(x.clone());
    let v = rotate.as_vec();
    let first = &x.as_vec()[..100];
    let twice: Images<1> = dev.tensor_from_vec([first, first].concat(), (2, 10, 10, Const::<1>));
    let mut layer = dev.build_module::<RandomRotation<30>, f32>();
    let t = layer.forward_mut(twice).as_vec();
    assert_eq!(
        &t[..100],
        &v[..100],
        "image 0 of call 0 depends on the rest of the batch"
    );
    assert_ne!(&t[..100], &t[100..]);
    // Another seed, other draws.
    let mut c = dev.build_module::<Everything, f32>();
    c.2.seed = 12345;
    assert_ne!(c.forward_mut(x.clone()).as_vec(), a1);
    let with_seed = RandomRotation::<15>::with_seed(12345);
    assert_eq!((with_seed.seed, with_seed.calls()), (12345, 0));
    assert_ne!(
        RandomFlip::<Horizontal>::DEFAULT_SEED,
        RandomRotation::<15>::DEFAULT_SEED
    );
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let x = images::<3>(12, 31, 29);
    let run = || {
        let mut layers = Cpu::default().build_module::<Everything, f32>();
        (0..2)
            .map(|_| layers.forward_mut(x.clone()).as_vec())
            .collect::<Vec<_>>()
    };
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    assert_eq!(one.install(run), run());
}

#[test]
fn no_gradient_flows_back_through_augmentation_but_the_tape_goes_on() {
    let dev = Cpu::seed_from_u64(0);
    let x = images::<1>(2, 6, 6);
    // The gradient of the images after `model`, with room for it made beforehand (leaky
    // gradients keep it after the backward pass).
    fn input_gradient<M>(model: &mut M, x: &Images<1>) -> (Vec<f32>, Gradients<f32, Cpu>)
    where
        M: ModuleMut<Images<1, OwnedTape<f32, Cpu>>, Output = Images<2, OwnedTape<f32, Cpu>>>,
    {
        let mut grads = Gradients::leaky();
        grads.try_alloc_for(x).unwrap();
        let grads = model.forward_mut(x.trace(grads)).sum().backward();
        (grads.get(x).as_vec(), grads)
    }
    let mut plain = dev.build_module::<Conv2D<1, 2, 3, 1, Same, Relu>, f32>();
    let (dx, _) = input_gradient(&mut plain, &x);
    assert!(
        dx.iter().any(|g| *g != 0.0),
        "the check itself sees no gradient"
    );
    let mut model = (RandomRotation::<20>::default(), plain);
    let (dx, grads) = input_gradient(&mut model, &x);
    // The images get no gradient: the augmentation started a new tensor ...
    assert!(dx.iter().all(|g| *g == 0.0));
    // ... and the convolution after it still learns: the tape went on.
    assert!(grads
        .get(&model.1.weight)
        .as_vec()
        .iter()
        .any(|g| *g != 0.0));
}

#[test]
fn a_model_with_augmentation_trains_with_fit_and_evaluates_without_it() {
    type Model = (
        RandomFlip<Horizontal>,
        RandomRotation<10>,
        Conv2D<1, 8, 3, 1, Same, Relu>,
        MaxPool2D<2>,
        Flatten,
        Dense<{ 3 * 3 * 8 }, 2>,
    );
    let data = toy_bars(256, 4);
    let mut model = Cpu::seed_from_u64(1).build_module::<Model, f32>();
    let cfg = FitConfig {
        epochs: 10,
        batch_size: 32,
        lr: 0.01,
        verbose: false,
        ..Default::default()
    };
    let history = fit(&mut model, &data, None, &cfg).unwrap();
    let losses = history.series("loss");
    assert!(
        losses[9] < losses[0],
        "training loss did not fall: {losses:?}"
    );
    // 10 epochs of 8 batches: one call of each augmentation layer per batch.
    assert_eq!((model.0.calls(), model.1.calls()), (80, 80));
    let eval = evaluate(&model, &data).unwrap();
    // The course's bar for a small CNN on a synthetic task (CONTRIBUTING.md).
    assert!(eval.accuracy > 0.95, "{eval:?}");
    // evaluate ran the augmentation in inference mode: no draws, the same result twice.
    assert_eq!(model.0.calls(), 80);
    assert_eq!(evaluate(&model, &data).unwrap(), eval);
}

#[test]
fn summary_shows_keras_rows_that_stop_the_gradient() {
    type Model = (
        Everything,
        (RandomFlip, RandomTranslation<20, 5, FillConstant>),
        Conv2D<3, 4, 3>,
    );
    let model = Cpu::seed_from_u64(0).build_module::<Model, f32>();
    let s = summary(&model, [32, 32, 3]).unwrap();
    let rows: Vec<(&str, &str, usize, bool)> = s
        .layers
        .iter()
        .map(|r| {
            (
                r.name.as_str(),
                r.config.as_str(),
                r.params,
                r.stops_gradient,
            )
        })
        .collect();
    assert_eq!(
        rows[..7],
        [
            ("random_flip", "mode=horizontal", 0, true),
            (
                "random_translation",
                "height_factor 0.1 (±10%), width_factor 0.1 (±10%), fill_mode=reflect, interpolation=bilinear",
                0,
                true
            ),
            (
                "random_rotation",
                "factor 0.0417 (±15°), fill_mode=reflect, interpolation=bilinear",
                0,
                true
            ),
            (
                "random_zoom",
                "height_factor 0.1 (in or out by up to 10%), fill_mode=reflect, interpolation=bilinear",
                0,
                true
            ),
            ("random_contrast", "factor 0.2 (×0.8 to ×1.2), value_range=[0, 1]", 0, true),
            ("random_flip_1", "mode=horizontal_and_vertical", 0, true),
            (
                "random_translation_1",
                "height_factor 0.2 (±20%), width_factor 0.05 (±5%), fill_mode=constant, interpolation=bilinear",
                0,
                true
            ),
        ]
    );
    assert!(s.layers[..7]
        .iter()
        .all(|r| r.output.to_string() == "(None, 32, 32, 3)"));
    assert_eq!(s.layers[0].kind, "RandomFlip");
    let text = s.to_string();
    assert!(text.contains("random_rotation (RandomRotation)"), "{text}");
    assert!(text.contains("Trainable params: 112"), "{text}");
    let rotation = RandomRotation::<36>::default();
    let s = summary(&rotation, [28, 28, 1]).unwrap();
    assert_eq!(
        s.layers[0].config,
        "factor 0.1 (±36°), fill_mode=reflect, interpolation=bilinear"
    );
}

#[test]
fn summary_refuses_augmentation_after_a_trainable_layer() {
    type Wrong = (
        Conv2D<1, 4, 3, 1, Same>,
        RandomFlip<Horizontal>,
        Flatten,
        Dense<{ 6 * 6 * 4 }, 2>,
    );
    let model = Cpu::seed_from_u64(0).build_module::<Wrong, f32>();
    let err = summary(&model, [6, 6, 1]).unwrap_err().to_string();
    assert!(
        err.contains("random_flip (RandomFlip)") && err.contains("conv2d (Conv2D)"),
        "{err}"
    );
    // fit checks the model first and returns the same error, before any step.
    let mut model = model;
    let cfg = FitConfig {
        epochs: 1,
        verbose: false,
        ..Default::default()
    };
    let err = fit(&mut model, &toy_bars(32, 0), None, &cfg).unwrap_err();
    assert!(err.to_string().contains("random_flip"), "{err}");
}

#[test]
fn augmentation_needs_images() {
    let err = summary(&RandomZoom::<10>::default(), FeatureShape::Flat(10)).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("random_zoom (RandomZoom)") && text.contains("images"),
        "{text}"
    );
}

#[test]
fn contrast_clips_to_its_value_range_and_refuses_an_empty_one() {
    let dev = Cpu::default();
    let x = images::<1>(16, 4, 4);
    let mut contrast = dev.build_module::<RandomContrast<100>, f32>();
    let y = contrast.forward_mut(x.clone()).as_vec();
    assert!(y.iter().all(|v| (0.0..=1.0).contains(v)));
    let mut wide = RandomContrast::<100>::default().with_value_range(0.25, 0.75);
    let y = wide.forward_mut(x.clone()).as_vec();
    assert!(y.iter().all(|v| (0.25..=0.75).contains(v)));
    assert!(y.contains(&0.25) && y.contains(&0.75));
    let wrong = RandomContrast::<20>::default().with_value_range(1.0, 0.0);
    let err = summary(&wrong, [4, 4, 1]).unwrap_err().to_string();
    assert!(
        err.contains("value_range") && err.contains("low <= high"),
        "{err}"
    );
}
