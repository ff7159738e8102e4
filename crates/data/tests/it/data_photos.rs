//! Sample photos and image files from disk.

use cnnkit_data::Error;
use cnnkit_data::{load_image, photo, photo_info, rgb_to_array, rgb_to_gray, sample_images};

#[test]
fn sample_images_stack_the_cat_and_the_coffee_cup() {
    let batch = sample_images().unwrap();
    assert_eq!(batch.shape(), &[2, 240, 360, 3]);
    let cat = rgb_to_array(&photo("chelsea").unwrap());
    assert_eq!(batch.index_axis(ndarray::Axis(0), 0), cat);
    assert!(batch.iter().all(|&v| (0.0..=1.0).contains(&v)));
    // The photos are not flat: a real photograph spans most of the range.
    let (lo, hi) = batch
        .iter()
        .fold((1.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    assert!(lo < 0.05 && hi > 0.95, "range {lo}..{hi}");
}

#[test]
fn gray_and_colour_arrays_agree_in_size() {
    let img = photo("astronaut").unwrap();
    assert_eq!(rgb_to_array(&img).shape(), &[320, 320, 3]);
    assert_eq!(rgb_to_gray(&img).shape(), &[320, 320]);
}

#[test]
fn every_photo_has_a_licence_on_record() {
    for name in cnnkit_data::PHOTO_NAMES {
        let info = photo_info(name).unwrap();
        assert!(
            info.licence.contains("CC0") || info.licence.contains("public domain"),
            "{name}: {}",
            info.licence
        );
        assert!(!info.author.is_empty());
    }
    let readme = include_str!("../../assets/photos/README.md");
    for name in cnnkit_data::PHOTO_NAMES {
        assert!(
            readme.contains(&format!("`{name}.jpg`")),
            "{name} not in README"
        );
    }
}

#[test]
fn load_image_round_trips_a_png() {
    let path = std::env::temp_dir().join(format!("cnnkit-test-photo-{}.png", std::process::id()));
    let original = photo("coffee").unwrap();
    original.save(&path).unwrap();
    let loaded = load_image(&path);
    let _ = std::fs::remove_file(&path);
    assert_eq!(loaded.unwrap(), original, "PNG is lossless");
}

#[test]
fn load_image_errors_name_the_file() {
    let missing = std::env::temp_dir().join("cnnkit-no-such-image.png");
    let err = load_image(&missing).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains("cnnkit-no-such-image.png"),
        "{err}"
    );

    let not_image = std::env::temp_dir().join(format!("cnnkit-test-{}.png", std::process::id()));
    std::fs::write(&not_image, b"this is text, not a picture").unwrap();
    let err = load_image(&not_image).unwrap_err();
    let _ = std::fs::remove_file(&not_image);
    assert!(matches!(err, Error::Image { .. }), "{err:?}");
}
