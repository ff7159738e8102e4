//! The shipped pretrained models: each file has its recorded checksum, loads into its
//! architecture and still scores on the test images; broken files give errors that name
//! the file and say what to run, and leave the files as they were.

use cnnkit_nn::architectures::{LectureCnn, SmallResNet};
use cnnkit_nn::prelude::*;
use cnnkit_nn::train::Classifier;
use cnnkit_pretrained::{self as pretrained, BaseClassifier, Pretrained};
use dfdx::nn::tensor_collection::TensorCollection;

fn fashion() -> cnnkit_data::FashionMnist {
    cnnkit_data::FashionMnist::load().expect(
        "Fashion-MNIST is needed (Debian: apt install dataset-fashion-mnist, or FASHION_MNIST_DIR)",
    )
}

/// Loads `M` from the repository, checks its checksum and evaluates it on the first 2,000
/// test images of its classes against the entry's bound.
fn check_shipped<M: Pretrained, const N: usize>(fashion: &cnnkit_data::FashionMnist)
where
    M::Built: Classifier<1, N> + TensorCollection<f32, Cpu>,
{
    let entry = M::ENTRY;
    let model = pretrained::load::<M>().unwrap_or_else(|e| panic!("{}: {e}", entry.name));
    let (_, test) = pretrained::datasets(entry, fashion).unwrap();
    let part = test.slice(0..2000);
    let acc = evaluate(&model, &part).unwrap().accuracy;
    assert!(
        acc >= entry.ci_bound,
        "{}: accuracy {acc} on the first 2,000 test images is below the bound {}",
        entry.name,
        entry.ci_bound
    );
    assert!(entry.ci_bound <= entry.test_accuracy && entry.ci_bound > 0.5);
    println!(
        "{}: {acc:.4} on 2,000 test images (bound {})",
        entry.name, entry.ci_bound
    );
}

#[test]
fn every_shipped_model_loads_verified_and_scores_above_its_bound() {
    let fashion = fashion();
    check_shipped::<LectureCnn, 10>(&fashion);
    check_shipped::<SmallResNet, 10>(&fashion);
    check_shipped::<BaseClassifier, 5>(&fashion);
    for entry in pretrained::MODELS {
        assert_eq!(entry.sha256.len(), 64, "{}", entry.name);
        let meta = cnnkit_nn::checkpoint::metadata(pretrained::path(entry)).unwrap();
        assert_eq!(meta["architecture"], entry.architecture);
        assert_eq!(meta["command"], entry.command());
        assert_eq!(meta["epochs"], entry.epochs.to_string());
    }
}

/// A copy of the weights folder in a temporary directory, for the fault cases.
fn copy_of_weights() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in pretrained::MODELS {
        std::fs::copy(pretrained::path(entry), dir.path().join(entry.file())).unwrap();
    }
    dir
}

#[test]
fn a_missing_damaged_or_foreign_file_is_refused_with_what_to_run() {
    let dir = copy_of_weights();
    let entry = LectureCnn::ENTRY;
    let path = dir.path().join(entry.file());

    std::fs::remove_file(&path).unwrap();
    let err = pretrained::verify(entry, &path).unwrap_err().to_string();
    assert!(
        err.contains("lecture_cnn.safetensors")
            && err.contains("git checkout -- crates/pretrained/weights/lecture_cnn.safetensors")
            && err.contains("--example pretrain -- lecture_cnn"),
        "{err}"
    );

    // One flipped byte: the checksum says so, and the file is left as it is.
    let mut bytes = std::fs::read(pretrained::path(entry)).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let err = pretrained::verify(entry, &path).unwrap_err().to_string();
    assert!(
        err.contains("SHA-256") && err.contains(entry.sha256) && err.contains("damaged"),
        "{err}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // A truncated file.
    std::fs::write(&path, &bytes[..100]).unwrap();
    let err = pretrained::load_file::<LectureCnn>(&path)
        .unwrap_err()
        .to_string();
    assert!(err.contains("lecture_cnn.safetensors"), "{err}");

    // Another architecture's file under this name: the metadata says which.
    std::fs::copy(pretrained::path(SmallResNet::ENTRY), &path).unwrap();
    let err = pretrained::load_file::<LectureCnn>(&path)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`SmallResNet`") && err.contains("LectureCnn was asked for"),
        "{err}"
    );
}

#[test]
fn the_recipe_writes_the_same_bytes_twice() {
    // The whole recipe, shortened to three batches per epoch: two runs, one file.
    let fashion = fashion();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let run = |dir: &std::path::Path| {
        let t = pretrained::train::<BaseClassifier, 5>(&fashion, Some(3), false).unwrap();
        pretrained::write::<BaseClassifier>(&t.model, dir)
            .unwrap()
            .1
    };
    assert_eq!(run(a.path()), run(b.path()));
    // What was written loads back as the architecture it names.
    let path = a.path().join(BaseClassifier::ENTRY.file());
    pretrained::load_file::<BaseClassifier>(&path).unwrap();
}
