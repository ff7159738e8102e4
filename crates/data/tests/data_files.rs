//! Fashion-MNIST loading from folders, with small IDX files written by the tests themselves:
//! valid (gzip and plain), and each kind of damage the loader must report.

use std::io::Write;
use std::path::Path;

use cnnkit_data::Error;
use cnnkit_data::{idx, sha256_hex, FashionMnist, Loader, FILES, SHA256};

#[path = "it/common.rs"]
mod common;
use common::TempDir;

/// The decompressed bytes of a tiny data set: `n_train` and `n_test` images of 28 x 28 whose
/// pixels encode (image index, pixel index), labels `i % 10`. In [`FILES`] order.
fn tiny_dataset(n_train: usize, n_test: usize) -> [Vec<u8>; 4] {
    let images = |n: usize, salt: usize| {
        let pixels: Vec<u8> = (0..n * 784)
            .map(|k| ((k / 784) * 7 + (k % 784) + salt) as u8)
            .collect();
        idx::encode_images(&pixels, n, 28, 28).unwrap()
    };
    let labels =
        |n: usize| idx::encode_labels(&(0..n).map(|i| (i % 10) as u8).collect::<Vec<_>>()).unwrap();
    [
        images(n_train, 0),
        labels(n_train),
        images(n_test, 100),
        labels(n_test),
    ]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

/// Writes the four files into `dir`, compressed (`name.gz`) or not (`name`).
fn write_files(dir: &Path, files: &[Vec<u8>; 4], compressed: [bool; 4]) {
    for ((stem, bytes), gz) in FILES.iter().zip(files).zip(compressed) {
        if gz {
            std::fs::write(dir.join(format!("{stem}.gz")), gzip(bytes)).unwrap();
        } else {
            std::fs::write(dir.join(stem), bytes).unwrap();
        }
    }
}

fn digests(files: &[Vec<u8>; 4]) -> [String; 4] {
    [0, 1, 2, 3].map(|i| sha256_hex(&files[i]))
}

/// A loader that looks only in `dir` (and an empty cache inside it) and never downloads.
fn loader(dir: &Path, files: &[Vec<u8>; 4]) -> Loader {
    Loader::new()
        .dir(dir)
        .cache_dir(dir.join("no-cache"))
        .allow_download(false)
        .checksums(digests(files))
}

#[test]
fn small_gzip_files_load_with_their_checksums() {
    let tmp = TempDir::new("gz");
    let files = tiny_dataset(12, 5);
    write_files(&tmp.0, &files, [true; 4]);
    let data = loader(&tmp.0, &files).load().unwrap();
    assert_eq!((data.train.len(), data.test.len()), (12, 5));
    assert_eq!(data.train.images.len(), 12 * 784);
    assert_eq!(
        data.train.labels,
        (0..12).map(|i| (i % 10) as u8).collect::<Vec<_>>()
    );
    // Pixel k of image i was written as (7 i + k) mod 256 (+100 for test images).
    assert_eq!(data.train.image(3)[5], 26);
    assert_eq!(data.test.image(4)[0], 128);
}

#[test]
fn small_plain_and_mixed_files_load() {
    let files = tiny_dataset(3, 2);
    for compressed in [[false; 4], [true, false, false, true]] {
        let tmp = TempDir::new("plain");
        write_files(&tmp.0, &files, compressed);
        let data = loader(&tmp.0, &files).load().unwrap();
        assert_eq!(data.test.labels, vec![0, 1], "{compressed:?}");
        assert_eq!(data.train.image(2)[783], ((2 * 7 + 783) % 256) as u8);
    }
}

#[test]
fn wrong_magic_names_file_and_both_numbers() {
    let tmp = TempDir::new("magic");
    let mut files = tiny_dataset(2, 2);
    files[2][3] = 0x01; // test images now claim to be a labels file
    write_files(&tmp.0, &files, [true; 4]);
    let err = loader(&tmp.0, &files).load().unwrap_err();
    match &err {
        Error::BadMagic {
            path,
            expected,
            found,
            ..
        } => {
            assert!(path.ends_with("t10k-images-idx3-ubyte.gz"), "{err}");
            assert_eq!((*expected, *found), (0x0803, 0x0801));
        }
        other => panic!("expected BadMagic, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains("0x00000803") && text.contains("0x00000801"),
        "{text}"
    );
}

#[test]
fn truncated_file_reports_expected_and_actual_sizes() {
    let tmp = TempDir::new("trunc");
    let mut files = tiny_dataset(4, 2);
    let full = files[0].len();
    files[0].truncate(full - 100);
    write_files(&tmp.0, &files, [false; 4]);
    let err = loader(&tmp.0, &files).load().unwrap_err();
    assert!(
        matches!(err, Error::Truncated { expected, actual, .. }
            if expected == full as u64 && actual == full as u64 - 100),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&full.to_string()) && text.contains("delete it"),
        "{text}"
    );
}

#[test]
fn truncated_gzip_stream_is_reported_not_panicking() {
    let tmp = TempDir::new("truncgz");
    let files = tiny_dataset(40, 2);
    write_files(&tmp.0, &files, [true; 4]);
    let path = tmp.0.join("train-images-idx3-ubyte.gz");
    let gz = std::fs::read(&path).unwrap();
    std::fs::write(&path, &gz[..gz.len() / 2]).unwrap();
    let err = loader(&tmp.0, &files).load().unwrap_err();
    assert!(matches!(err, Error::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("truncated"), "{err}");
}

#[test]
fn image_and_label_counts_must_match() {
    let tmp = TempDir::new("count");
    let mut files = tiny_dataset(5, 3);
    files[1] = idx::encode_labels(&[1, 2, 3, 4]).unwrap();
    write_files(&tmp.0, &files, [true; 4]);
    let err = loader(&tmp.0, &files).load().unwrap_err();
    assert!(
        matches!(
            err,
            Error::CountMismatch {
                images: 5,
                labels: 4,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("5 images"), "{err}");
}

#[test]
fn images_of_another_size_are_rejected() {
    let tmp = TempDir::new("dims");
    let mut files = tiny_dataset(2, 2);
    files[0] = idx::encode_images(&[0; 2 * 32 * 32], 2, 32, 32).unwrap();
    write_files(&tmp.0, &files, [true; 4]);
    let err = loader(&tmp.0, &files).load().unwrap_err();
    assert!(matches!(err, Error::BadDimensions { .. }), "{err:?}");
    assert!(err.to_string().contains("32 x 32"), "{err}");
}

#[test]
fn labels_outside_the_ten_classes_are_rejected() {
    let tmp = TempDir::new("labels");
    let mut files = tiny_dataset(2, 2);
    files[3] = idx::encode_labels(&[3, 42]).unwrap();
    write_files(&tmp.0, &files, [false; 4]);
    let err = loader(&tmp.0, &files).load().unwrap_err();
    assert!(err.to_string().contains("label 42"), "{err}");
}

#[test]
fn checksum_mismatch_names_file_digests_and_remedy() {
    let tmp = TempDir::new("sha");
    let files = tiny_dataset(2, 2);
    write_files(&tmp.0, &files, [true; 4]);
    // load_from checks against the real Fashion-MNIST digests, which tiny files cannot match.
    let err = FashionMnist::load_from(&tmp.0).unwrap_err();
    match &err {
        Error::ChecksumMismatch {
            path,
            expected,
            actual,
            ..
        } => {
            assert!(path.ends_with("train-images-idx3-ubyte.gz"));
            assert_eq!(expected, SHA256[0]);
            assert_eq!(actual, &sha256_hex(&files[0]));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(SHA256[0]) && text.contains("replace"),
        "{text}"
    );
}

#[test]
fn damaged_cache_file_says_which_file_to_delete() {
    let tmp = TempDir::new("cachesha");
    let cache = tmp.0.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let files = tiny_dataset(2, 2);
    write_files(&cache, &files, [true; 4]);
    let mut sums = digests(&files);
    sums[1] = "0".repeat(64);
    let err = Loader::new()
        .system_dirs(false)
        .cache_dir(&cache)
        .allow_download(false)
        .checksums(sums)
        .load()
        .unwrap_err();
    let text = err.to_string();
    let file = cache.join("train-labels-idx1-ubyte.gz");
    assert!(
        text.contains(&format!("Delete `{}` and retry", file.display())),
        "{text}"
    );
}

#[test]
fn missing_files_list_places_and_how_to_install() {
    let tmp = TempDir::new("missing");
    let files = tiny_dataset(2, 2);
    write_files(&tmp.0, &files, [true; 4]);
    std::fs::remove_file(tmp.0.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    let err = loader(&tmp.0, &files).load().unwrap_err();
    let Error::DatasetNotFound { searched, .. } = &err else {
        panic!("expected DatasetNotFound, got {err:?}");
    };
    assert_eq!(searched.len(), 2, "{searched:?}"); // the folder given and the cache
    assert!(
        searched[0].contains("missing t10k-labels-idx1-ubyte[.gz]"),
        "{searched:?}"
    );
    assert!(searched[1].contains("no such folder"), "{searched:?}");
    let text = err.to_string();
    eprintln!("{text}");
    for needle in [
        "sudo apt-get install dataset-fashion-mnist",
        "FASHION_MNIST_DIR",
        "internet",
        "switched off",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
}

#[test]
fn load_from_an_empty_folder_is_a_clear_error() {
    let tmp = TempDir::new("empty");
    let err = FashionMnist::load_from(&tmp.0).unwrap_err();
    assert!(matches!(err, Error::DatasetNotFound { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&tmp.0.display().to_string()),
        "{err}"
    );
}

#[test]
fn fashion_mnist_dir_is_searched_before_the_system_folder() {
    // The only test in this binary that reads or sets the variable (the others give folders
    // explicitly, which switches the system places off).
    let tmp = TempDir::new("env");
    let files = tiny_dataset(7, 3);
    write_files(&tmp.0, &files, [true; 4]);
    // SAFETY: the only test of this binary that touches the environment.
    unsafe { std::env::set_var("FASHION_MNIST_DIR", &tmp.0) };
    let result = Loader::new()
        .cache_dir(tmp.0.join("no-cache"))
        .allow_download(false)
        .checksums(digests(&files))
        .load();
    // SAFETY: the only test of this binary that touches the environment.
    unsafe { std::env::remove_var("FASHION_MNIST_DIR") };
    let data = result.unwrap();
    assert_eq!(
        data.train.len(),
        7,
        "loaded another copy than FASHION_MNIST_DIR's"
    );

    // Set to a folder without the files, or to nothing: an error, not another copy.
    let other = TempDir::new("env-other");
    write_files(&other.0, &files, [true; 4]);
    for value in [tmp.0.join("missing").into_os_string(), "".into()] {
        // SAFETY: the only test of this binary that touches the environment.
        unsafe { std::env::set_var("FASHION_MNIST_DIR", &value) };
        let result = Loader::new()
            .cache_dir(other.0.clone())
            .allow_download(false)
            .checksums(digests(&files))
            .load();
        // SAFETY: the only test of this binary that touches the environment.
        unsafe { std::env::remove_var("FASHION_MNIST_DIR") };
        let err = result.expect_err("fell back to the cache without a word");
        let text = err.to_string();
        assert!(
            text.contains("FASHION_MNIST_DIR") && text.contains("unset"),
            "{text}"
        );
    }
}

#[test]
fn checks_can_be_switched_off_but_headers_are_still_checked() {
    let tmp = TempDir::new("nosha");
    let mut files = tiny_dataset(2, 2);
    write_files(&tmp.0, &files, [true; 4]);
    let data = Loader::new()
        .dir(&tmp.0)
        .cache_dir(tmp.0.join("no-cache"))
        .allow_download(false)
        .verify_checksums(false)
        .load()
        .unwrap();
    assert_eq!(data.train.len(), 2);
    files[0][0] = 1;
    write_files(&tmp.0, &files, [true; 4]);
    let err = Loader::new()
        .dir(&tmp.0)
        .allow_download(false)
        .verify_checksums(false)
        .cache_dir(tmp.0.join("no-cache"))
        .load()
        .unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }), "{err:?}");
}
