//! Training that survives a crash (`FitConfig::checkpoint_dir`): a training process is
//! killed in the middle of an epoch, the same `fit` call made again resumes after the last
//! saved epoch, and the result equals, to the bit, a run that was never interrupted.
//!
//! The killed process is this test binary itself, started again to run the ignored test
//! [`child_trains_until_killed`] with the folder to train into in an environment variable.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use cnnkit_nn::prelude::*;
use cnnkit_nn::train::toy_bars;

/// Dropout makes the run depend on the device's random numbers, which a resumed run must
/// draw as the uninterrupted one did.
type Model = (
    Conv2D<1, 4, 3, 1, Same, Relu>,
    Flatten,
    Dense<144, 16, Relu>,
    Dropout,
    Dense<16, 2>,
);

const CHILD_DIR: &str = "CNNKIT_TEST_RESUME_DIR";
const CHILD_OPTIMIZER: &str = "CNNKIT_TEST_RESUME_OPTIMIZER";
const EPOCHS: usize = 12;

fn data() -> Dataset<1> {
    toy_bars(3000, 11)
}

fn cfg(dir: Option<&Path>, optimizer: OptimizerKind) -> FitConfig {
    FitConfig {
        epochs: EPOCHS,
        batch_size: 16,
        optimizer,
        seed: 5,
        verbose: false,
        checkpoint_dir: dir.map(Path::to_path_buf),
        ..FitConfig::default()
    }
}

type Built = <Model as dfdx::nn::BuildOnDevice<Cpu, f32>>::Built;

fn model() -> Built {
    Cpu::seed_from_u64(3).build_module::<Model, f32>()
}

fn weights(m: &Built) -> Vec<Vec<f32>> {
    cnnkit_nn::checkpoint::named_weights(m)
        .unwrap()
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

/// Loss and accuracy per epoch (the seconds differ between runs).
fn curve(h: &History) -> Vec<(f32, f32)> {
    h.epochs.iter().map(|e| (e.loss, e.accuracy)).collect()
}

/// The only `.safetensors` file in `dir`, once there is one.
fn checkpoint_in(dir: &Path) -> Option<PathBuf> {
    let files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "safetensors"))
        .collect();
    assert!(files.len() <= 1, "one run, one file: {files:?}");
    files.into_iter().next()
}

fn epochs_done(path: &Path) -> usize {
    cnnkit_nn::checkpoint::metadata(path).unwrap()["epochs_done"]
        .parse()
        .unwrap()
}

/// Run by [`killed_run`] in a process of its own, which it kills.
#[test]
#[ignore = "started by the tests that kill a training process"]
fn child_trains_until_killed() {
    let dir = PathBuf::from(std::env::var(CHILD_DIR).expect("started by the parent test"));
    let optimizer = match std::env::var(CHILD_OPTIMIZER).as_deref() {
        Ok("adam") => OptimizerKind::Adam,
        _ => OptimizerKind::Nadam,
    };
    let mut m = model();
    fit(&mut m, &data(), None, &cfg(Some(&dir), optimizer)).unwrap();
}

/// Trains without interruption; then starts a training process, kills it in the middle of
/// epoch 4 or later, and runs the same `fit` again, which must resume and end with the
/// uninterrupted run's curve and weights. Returns the folder of the finished run.
fn killed_run(optimizer: OptimizerKind) -> tempfile::TempDir {
    let mut reference = model();
    let expected = fit(&mut reference, &data(), None, &cfg(None, optimizer)).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "resume::child_trains_until_killed", "--ignored"])
        .env(CHILD_DIR, dir.path())
        .env(
            CHILD_OPTIMIZER,
            if optimizer == OptimizerKind::Adam {
                "adam"
            } else {
                "nadam"
            },
        )
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait for the checkpoint of epoch 3, then kill the process a third of an epoch later,
    // while it trains epoch 4.
    let start = Instant::now();
    let path = loop {
        if let Some(p) = checkpoint_in(dir.path()).filter(|p| epochs_done(p) >= 3) {
            break p;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the training process ended by itself ({status}) before it was killed");
        }
        assert!(start.elapsed() < Duration::from_secs(300), "no checkpoint");
        std::thread::sleep(Duration::from_millis(2));
    };
    let epoch = expected.seconds() / EPOCHS as f64;
    std::thread::sleep(Duration::from_secs_f64(epoch / 3.0));
    child.kill().unwrap();
    let status = child.wait().unwrap();
    assert!(!status.success(), "killed, not finished: {status}");
    let done = epochs_done(&path);
    assert!(
        (3..EPOCHS).contains(&done),
        "killed with {done} of {EPOCHS} epochs saved"
    );

    let mut resumed = model();
    let history = fit(
        &mut resumed,
        &data(),
        None,
        &cfg(Some(dir.path()), optimizer),
    )
    .unwrap();
    assert_eq!(
        history.resumed_epochs, done,
        "resumed after the saved epochs"
    );
    assert_eq!(curve(&history), curve(&expected));
    assert_eq!(
        weights(&resumed),
        weights(&reference),
        "the same weights, to the bit"
    );
    assert_eq!(epochs_done(&path), EPOCHS);

    // Once finished, the call returns the saved model without training.
    let mut again = model();
    let h = fit(&mut again, &data(), None, &cfg(Some(dir.path()), optimizer)).unwrap();
    assert_eq!(h.resumed_epochs, EPOCHS);
    assert_eq!(curve(&h), curve(&expected));
    assert_eq!(weights(&again), weights(&reference));
    dir
}

#[test]
fn killed_nadam_training_resumes_and_equals_an_uninterrupted_run() {
    let dir = killed_run(OptimizerKind::Nadam);
    // Another seed is another run: a new file, trained from the start.
    let mut other = model();
    let small = FitConfig {
        seed: 6,
        max_batches: Some(2),
        ..cfg(Some(dir.path()), OptimizerKind::Nadam)
    };
    assert_eq!(
        fit(&mut other, &data(), None, &small)
            .unwrap()
            .resumed_epochs,
        0
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// Adam's moments and step count come back too (dfdx's own Adam keeps them private, so
/// `fit` uses the crate's [`cnnkit_nn::train::Adam`]).
#[test]
fn killed_adam_training_resumes_and_equals_an_uninterrupted_run() {
    killed_run(OptimizerKind::Adam);
}

#[test]
fn a_damaged_checkpoint_is_reported_and_training_starts_over() {
    let small = toy_bars(200, 4);
    let dir = tempfile::tempdir().unwrap();
    let c = FitConfig {
        epochs: 2,
        ..cfg(Some(dir.path()), OptimizerKind::Nadam)
    };
    let mut first = model();
    fit(&mut first, &small, None, &c).unwrap();
    let path = checkpoint_in(dir.path()).unwrap();
    // Flip one byte near the end (inside the weights): the digest no longer matches.
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    bytes[n - 3] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let mut second = model();
    let h = fit(&mut second, &small, None, &c).unwrap();
    assert_eq!(h.resumed_epochs, 0, "trained from the start");
    assert_eq!(weights(&second), weights(&first));
    // The damaged file was replaced by a whole one.
    let mut third = model();
    assert_eq!(fit(&mut third, &small, None, &c).unwrap().resumed_epochs, 2);
    // A truncated file too.
    std::fs::write(&path, &bytes[..100]).unwrap();
    let mut fourth = model();
    assert_eq!(
        fit(&mut fourth, &small, None, &c).unwrap().resumed_epochs,
        0
    );
    assert_eq!(weights(&fourth), weights(&first));
}
