//! Bad input to training and checkpoints (issue 17's probes 6-9 and 12): each gives a
//! clear error or warning, and nothing on disk is lost.

use cnnkit_nn::prelude::*;
use cnnkit_nn::train::toy_bars;

/// A model for `toy_bars` (6x6 images, two classes).
type Tiny = (
    Conv2D<1, 4, 3, 1, Same, Relu>,
    Flatten,
    Dense<{ 6 * 6 * 4 }, 2>,
);

fn quick_cfg() -> FitConfig {
    FitConfig {
        epochs: 1,
        batch_size: 16,
        verbose: false,
        ..Default::default()
    }
}

#[test]
fn nan_in_the_images_stops_training_with_advice() {
    let mut data = toy_bars(64, 1);
    data.images[[5, 3, 3, 0]] = f32::NAN;
    let mut model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
    let err = fit(&mut model, &data, None, &quick_cfg()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, Error::Training { .. }), "{err:?}");
    assert!(
        text.contains("NaN") && text.contains("learning rate"),
        "{text}"
    );
}

#[test]
fn a_huge_learning_rate_is_stopped_or_reported() {
    let data = toy_bars(256, 2);
    let mut model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
    let cfg = FitConfig {
        lr: 1e6,
        epochs: 2,
        ..quick_cfg()
    };
    match fit(&mut model, &data, None, &cfg) {
        // Either the loss overflows and training stops with advice...
        Err(e) => assert!(e.to_string().contains("learning rate"), "{e}"),
        // ... or it stays finite and far above guessing, which fit warns about (on
        // stderr); the history shows it.
        Ok(h) => {
            let losses = h.series("loss");
            assert!(losses.iter().any(|l| *l > 10.0 * 2f32.ln()), "{losses:?}");
        }
    }
}

#[test]
fn zero_batches_per_epoch_is_an_error_not_an_empty_epoch() {
    let data = toy_bars(32, 3);
    let mut model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
    let cfg = FitConfig {
        max_batches: Some(0),
        ..quick_cfg()
    };
    let text = fit(&mut model, &data, None, &cfg).unwrap_err().to_string();
    assert!(
        text.contains("max_batches") && text.contains("None"),
        "{text}"
    );
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cnnkit-faults-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_read_only_checkpoint_is_not_replaced() {
    let dir = temp_dir("readonly");
    let path = dir.join("model.safetensors");
    let model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
    cnnkit_nn::checkpoint::save(&model, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&path, perms).unwrap();

    let other = Cpu::seed_from_u64(1).build_module::<Tiny, f32>();
    let text = cnnkit_nn::checkpoint::save(&other, &path)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("read-only") && text.contains("left as it is"),
        "{text}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "the file changed");
    assert!(
        std::fs::metadata(&path).unwrap().permissions().readonly(),
        "mode changed"
    );
    let mut perms = std::fs::metadata(&path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    std::fs::set_permissions(&path, perms).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn checkpoint_errors_are_sentences_not_debug_text() {
    let dir = temp_dir("messages");
    let mut model = Cpu::seed_from_u64(0).build_module::<Tiny, f32>();
    // A folder given as the file.
    let text = cnnkit_nn::checkpoint::load(&mut model, &dir)
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("folder") && !text.contains("header"),
        "{text}"
    );
    let text = cnnkit_nn::checkpoint::save(&model, &dir)
        .unwrap_err()
        .to_string();
    assert!(text.contains("folder"), "{text}");
    // A truncated file.
    let path = dir.join("cut.safetensors");
    cnnkit_nn::checkpoint::save(&model, &path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 100]).unwrap();
    let text = cnnkit_nn::checkpoint::load(&mut model, &path)
        .unwrap_err()
        .to_string();
    for debug in [
        "MetadataIncompleteBuffer",
        "IoError",
        "Os {",
        "SafeTensorError",
    ] {
        assert!(!text.contains(debug), "debug text {debug:?} in: {text}");
    }
    assert!(
        text.contains("truncated") || text.contains("damaged"),
        "{text}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
