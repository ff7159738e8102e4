//! Half-precision checkpoints (the shipped pretrained models' format): values within f16
//! rounding, metadata, the same bytes for the same weights, and clear refusals.

use std::collections::BTreeMap;

use cnnkit_nn::checkpoint::{load, metadata, save, save_f16};
use cnnkit_nn::prelude::*;

type Small = (
    (Conv2DNoBias<1, 4, 3, 1, Same>, BatchNorm<4>, Relu),
    GlobalAvgPool2D,
    Dense<4, 3>,
    Dropout,
);

fn meta() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("architecture".to_string(), "Small".to_string()),
        ("epochs".to_string(), "3".to_string()),
    ])
}

#[test]
fn f16_files_round_trip_within_rounding_and_keep_their_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(3);
    let mut model = dev.build_module::<Small, f32>();
    model.3.p = 0.25;
    let path = dir.path().join("small.safetensors");
    save_f16(&model, &path, &meta()).unwrap();
    assert_eq!(metadata(&path).unwrap(), meta());

    let mut copy = Cpu::seed_from_u64(4).build_module::<Small, f32>();
    load(&mut copy, &path).unwrap();
    let (a, b) = (
        cnnkit_nn::checkpoint::named_weights(&model).unwrap(),
        cnnkit_nn::checkpoint::named_weights(&copy).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for ((name, x), (_, y)) in a.iter().zip(&b) {
        for (u, v) in x.iter().zip(y) {
            // f16 keeps 11 significant bits: relative error at most 2^-11 (normal range).
            assert!(
                (u - v).abs() <= u.abs() / 2048.0 + 1e-7,
                "{name}: {u} vs {v}"
            );
            assert_eq!(half::f16::from_f32(*u).to_f32(), *v, "{name}");
        }
    }
    assert_eq!(copy.3.p, 0.25, "the dropout rate (a scalar) is restored");

    // The same weights give the same bytes (no hash-map order in the header).
    let again = dir.path().join("again.safetensors");
    save_f16(&model, &again, &meta()).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
    // About half the size of the f32 file.
    let full = dir.path().join("full.safetensors");
    save(&model, &full).unwrap();
    let (h, f) = (
        std::fs::metadata(&path).unwrap().len(),
        std::fs::metadata(&full).unwrap().len(),
    );
    assert!(h < f, "f16 {h} bytes, f32 {f} bytes");
}

#[test]
fn an_f16_file_of_another_model_is_refused_and_the_model_left_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(0);
    let path = dir.path().join("small.safetensors");
    save_f16(&dev.build_module::<Small, f32>(), &path, &meta()).unwrap();
    type Other = (
        (Conv2DNoBias<1, 8, 3, 1, Same>, BatchNorm<8>, Relu),
        GlobalAvgPool2D,
        Dense<8, 3>,
        Dropout,
    );
    let mut other = dev.build_module::<Other, f32>();
    let before = cnnkit_nn::checkpoint::named_weights(&other).unwrap();
    let err = load(&mut other, &path).unwrap_err().to_string();
    assert!(
        err.contains("in the file but") && err.contains("different model"),
        "{err}"
    );
    assert_eq!(
        cnnkit_nn::checkpoint::named_weights(&other).unwrap(),
        before
    );
}

#[test]
fn a_file_with_integer_tensors_is_refused_by_name() {
    // A hand-made safetensors file whose bias is stored as I32.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ints.safetensors");
    let header = br#"{"bias":{"dtype":"I32","shape":[2],"data_offsets":[0,8]},"weight":{"dtype":"F16","shape":[3,2],"data_offsets":[8,20]}}    "#;
    let mut bytes = (header.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(header);
    bytes.extend_from_slice(&[0u8; 20]);
    std::fs::write(&path, &bytes).unwrap();
    let mut model = Cpu::seed_from_u64(0).build_module::<Dense<3, 2>, f32>();
    let err = load(&mut model, &path).unwrap_err().to_string();
    assert!(err.contains("`bias` is stored as I32"), "{err}");
}
