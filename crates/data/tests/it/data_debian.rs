//! The real Fashion-MNIST files of Debian's `dataset-fashion-mnist` package, when installed
//! (`sudo apt-get install dataset-fashion-mnist`); each test says "skipped" and passes otherwise.
//!
//! Reference values were computed with Python's `gzip` module on the same files, e.g.
//! `d = gzip.open(".../train-images-idx3-ubyte.gz").read()[16:]; sum(d[:784])`.

use std::path::Path;

use cnnkit_data::{class_name, idx, sha256_hex, FashionMnist, DEBIAN_DIR, FILES, SHA256};

fn installed() -> bool {
    let ok = FILES
        .iter()
        .all(|stem| Path::new(DEBIAN_DIR).join(format!("{stem}.gz")).is_file());
    if !ok {
        eprintln!(
            "skipped: {DEBIAN_DIR} not installed (sudo apt-get install dataset-fashion-mnist)"
        );
    }
    ok
}

#[test]
fn debian_files_load_with_the_lecture_sizes_and_labels() {
    if !installed() {
        return;
    }
    let start = std::time::Instant::now();
    let data = FashionMnist::load_from(DEBIAN_DIR).unwrap();
    // Timing for the record (`cargo test --release --test data_debian -- --nocapture`):
    // gunzip + SHA-256 + parse of all four files.
    eprintln!("loaded and verified 70,000 images in {:?}", start.elapsed());
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!(data.train.images.len(), 60_000 * 784);
    assert_eq!(data.train.labels[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(data.test.labels[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    assert_eq!(data.train.label_counts(), [6_000; 10]);
    assert_eq!(data.test.label_counts(), [1_000; 10]);
    assert_eq!(class_name(data.train.labels[0]), "앵클 부츠 (Ankle boot)");
}

#[test]
fn debian_pixels_match_python_reference_sums() {
    if !installed() {
        return;
    }
    let data = FashionMnist::load_from(DEBIAN_DIR).unwrap();
    let sum = |px: &[u8]| px.iter().map(|&p| p as u64).sum::<u64>();
    assert_eq!(sum(data.train.image(0)), 76_247);
    assert_eq!(sum(data.test.image(0)), 33_456);
    assert_eq!(sum(&data.train.images), 3_431_114_169);
    assert_eq!(sum(&data.test.images), 573_469_082);
    // Row 14 of the first training image (an ankle boot) starts 0 0 1 4 6 7 2 0 0 0.
    assert_eq!(
        data.train.image(0)[14 * 28..14 * 28 + 10],
        [0, 0, 1, 4, 6, 7, 2, 0, 0, 0]
    );
    let x = data.test.take(1).images_f32();
    assert!((x.iter().sum::<f32>() - 33_456.0 / 255.0).abs() < 1e-2);
}

#[test]
fn hard_coded_checksums_are_those_of_the_decompressed_debian_files() {
    if !installed() {
        return;
    }
    for (stem, expected) in FILES.iter().zip(SHA256) {
        let bytes = idx::read_file(Path::new(DEBIAN_DIR).join(format!("{stem}.gz"))).unwrap();
        assert_eq!(sha256_hex(&bytes), expected, "{stem}");
    }
}

#[test]
fn lecture_split_is_55000_train_5000_validation() {
    if !installed() {
        return;
    }
    let data = FashionMnist::load_from(DEBIAN_DIR).unwrap();
    let (train, valid) = data.train.split_at(55_000);
    assert_eq!((train.len(), valid.len()), (55_000, 5_000));
    assert_eq!(valid.image(0), data.train.image(55_000));
    assert_eq!(valid.labels[..], data.train.labels[55_000..]);
}
