//! The synthetic canvases (`cnnkit_data::canvas`) on the real Fashion-MNIST of Debian's
//! `dataset-fashion-mnist`: determinism, exact boxes, masks, the splits the items come
//! from, the training arrays, and the errors of bad settings.
//!
//! Most checks rebuild every canvas from its objects: each object names its source image
//! and frame, so pasting `resize(source image)` at the frame, taking the maximum for the
//! pixels and letting later objects win in the mask, must give the generated canvas byte
//! for byte. Tests that need the data say "skipped" and pass when it is not installed.

use std::path::Path;
use std::sync::OnceLock;

use cnnkit_data::canvas::{
    resize, BoxFormat, CanvasConfig, CanvasData, CanvasSet, CanvasView, Part, PixelBox, Resize,
    MASK_CLASSES, VALID_ITEMS,
};
use cnnkit_data::{FashionMnist, Split, DEBIAN_DIR, FILES};
use ndarray::{Array2, ArrayView2, Axis};

/// Fashion-MNIST, loaded once for all tests of this file (`None` when not installed).
fn data() -> Option<&'static FashionMnist> {
    static DATA: OnceLock<Option<FashionMnist>> = OnceLock::new();
    let data = DATA.get_or_init(|| {
        let installed = FILES
            .iter()
            .all(|stem| Path::new(DEBIAN_DIR).join(format!("{stem}.gz")).is_file());
        installed.then(|| FashionMnist::load_from(DEBIAN_DIR).unwrap())
    });
    if data.is_none() {
        eprintln!(
            "skipped: {DEBIAN_DIR} not installed (sudo apt-get install dataset-fashion-mnist)"
        );
    }
    data.as_ref()
}

/// The Fashion-MNIST split and item range a part draws from.
fn source_of(data: &FashionMnist, part: Part) -> (&Split, std::ops::Range<usize>) {
    let cut = data.train.len() - VALID_ITEMS;
    match part {
        Part::Train => (&data.train, 0..cut),
        Part::Valid => (&data.train, cut..data.train.len()),
        Part::Test => (&data.test, 0..data.test.len()),
    }
}

/// The item of `object` as pasted: its source image resized to its frame.
fn pasted_item(split: &Split, source: usize, side: usize, method: Resize) -> Array2<u8> {
    let img = ArrayView2::from_shape((28, 28), split.image(source)).unwrap();
    resize(img, side, side, method).unwrap()
}

/// Rebuilds canvas `c` from its objects and checks pixels, mask, boxes and labels.
fn check_canvas(c: &CanvasView<'_>, split: &Split, config: &CanvasConfig, what: &str) {
    let (h, w) = c.pixels.dim();
    assert_eq!((h, w), (config.height, config.width), "{what}");
    let mut pixels = Array2::<u8>::zeros((h, w));
    let mut mask = Array2::<u8>::zeros((h, w));
    for (k, o) in c.objects.iter().enumerate() {
        let side = o.frame.width();
        assert_eq!(o.frame.height(), side, "{what}: frame {k} is square");
        assert!(
            o.frame.x_max <= w && o.frame.y_max <= h,
            "{what}: frame inside"
        );
        assert_eq!(o.class, split.label(o.source), "{what}: object {k}'s label");
        let item = pasted_item(split, o.source, side, config.resize);
        // The box is exactly the item's non-zero pixels, moved to the frame.
        let ink = PixelBox::enclosing(item.view(), 0).expect("the item has ink");
        let moved = PixelBox::new(
            ink.x_min + o.frame.x_min,
            ink.y_min + o.frame.y_min,
            ink.x_max + o.frame.x_min,
            ink.y_max + o.frame.y_min,
        );
        assert_eq!(o.bbox, moved, "{what}: object {k}'s box");
        for ((r, col), &v) in item.indexed_iter() {
            let (y, x) = (o.frame.y_min + r, o.frame.x_min + col);
            pixels[[y, x]] = pixels[[y, x]].max(v);
            if v as f32 / 255.0 > config.mask_threshold {
                mask[[y, x]] = o.class + 1;
            }
        }
    }
    assert_eq!(c.pixels, pixels, "{what}: pixels rebuilt from the objects");
    assert_eq!(c.mask, mask, "{what}: mask rebuilt from the objects");
    // Every mask pixel lies in the box of an object of its class.
    for ((y, x), &m) in c.mask.indexed_iter() {
        if m > 0 {
            assert!(
                c.objects
                    .iter()
                    .any(|o| o.class + 1 == m && o.bbox.contains(x, y)),
                "{what}: mask {m} at ({x}, {y}) outside every box of class {}",
                m - 1
            );
        }
    }
    // Boxes are never shrunk by overlaps: each box's edges hold non-zero canvas pixels.
    for o in c.objects {
        let b = o.bbox;
        let region = c
            .pixels
            .slice(ndarray::s![b.y_min..b.y_max, b.x_min..b.x_max]);
        assert!(region.row(0).iter().any(|&p| p > 0), "{what}: top edge");
        assert!(region.row(b.height() - 1).iter().any(|&p| p > 0), "{what}");
        assert!(region.column(0).iter().any(|&p| p > 0), "{what}: left edge");
        assert!(
            region.column(b.width() - 1).iter().any(|&p| p > 0),
            "{what}"
        );
    }
}

fn settings() -> Vec<(&'static str, CanvasConfig)> {
    vec![
        ("default", CanvasConfig::default()),
        (
            "1-3 objects, any overlap",
            CanvasConfig::default().objects(1, 3).seed(7),
        ),
        (
            "96x96, 2-4 objects, scales, bilinear, max IoU 0.1, threshold 0.1",
            CanvasConfig::default()
                .size(96, 96)
                .objects(2, 4)
                .scale(0.6, 1.7)
                .max_iou(0.1)
                .mask_threshold(0.1),
        ),
        (
            "80x48, 1-2 objects, scales, nearest",
            CanvasConfig::default()
                .size(80, 48)
                .objects(1, 2)
                .scale(0.5, 1.5)
                .resize(Resize::Nearest),
        ),
    ]
}

#[test]
fn every_canvas_is_rebuilt_exactly_from_its_objects_in_every_split() {
    let Some(data) = data() else { return };
    for (what, config) in settings() {
        for part in [Part::Train, Part::Valid, Part::Test] {
            let set = CanvasSet::generate(data, part, 300, &config).unwrap();
            assert_eq!(set.part(), Some(part));
            let (split, items) = source_of(data, part);
            for (i, c) in set.iter().enumerate() {
                let n = c.objects.len();
                assert!((config.min_objects..=config.max_objects).contains(&n));
                for o in c.objects {
                    assert!(
                        items.contains(&o.source),
                        "{what}, {part:?}: item {} is not in {items:?}",
                        o.source
                    );
                }
                check_canvas(&c, split, &config, &format!("{what}, {part:?}, canvas {i}"));
            }
        }
    }
}

#[test]
fn splits_draw_from_their_own_fashion_mnist_images() {
    let Some(data) = data() else { return };
    let config = CanvasConfig::default().sizes(500, 500, 500);
    let canvases = CanvasData::generate(data, &config).unwrap();
    let sources = |set: &CanvasSet| -> Vec<usize> {
        set.objects().iter().flatten().map(|o| o.source).collect()
    };
    let (train, valid, test) = (
        sources(&canvases.train),
        sources(&canvases.valid),
        sources(&canvases.test),
    );
    assert!(train.iter().all(|&s| s < 55_000));
    assert!(valid.iter().all(|&s| (55_000..60_000).contains(&s)));
    assert!(test.iter().all(|&s| s < 10_000));
    // The items spread over their range (not all from its start).
    assert!(train.iter().any(|&s| s > 40_000) && valid.iter().any(|&s| s > 59_000));
    // A lone, unscaled item's frame on the canvas is its source image, byte for byte,
    // and differs from the image of that index in the other split.
    for (set, split) in [
        (&canvases.train, &data.train),
        (&canvases.valid, &data.train),
        (&canvases.test, &data.test),
    ] {
        for c in set.iter().take(50) {
            let o = c.objects[0];
            let f = o.frame;
            let region = c
                .pixels
                .slice(ndarray::s![f.y_min..f.y_max, f.x_min..f.x_max]);
            let region: Vec<u8> = region.iter().copied().collect();
            assert_eq!(region, split.image(o.source));
        }
    }
    let o = canvases.test.objects()[0][0];
    assert_ne!(data.test.image(o.source), data.train.image(o.source));
    // Classes are all represented.
    assert!(canvases.train.class_counts().iter().all(|&n| n > 20));
}

#[test]
fn the_same_seed_gives_the_same_canvases() {
    let Some(data) = data() else { return };
    let config = CanvasConfig::default()
        .objects(1, 3)
        .scale(0.8, 1.2)
        .max_iou(0.2)
        .sizes(200, 50, 50);
    let a = CanvasData::generate(data, &config).unwrap();
    let b = CanvasData::generate(data, &config).unwrap();
    assert_eq!(a, b);
    let other = CanvasData::generate(data, &config.clone().seed(43)).unwrap();
    assert_ne!(a.train, other.train);
    assert_ne!(a.test.objects(), other.test.objects());
    // Canvas i does not depend on how many are made, and the splits differ.
    let fewer = CanvasSet::generate(data, Part::Train, 120, &config).unwrap();
    assert_eq!(fewer, a.train.take(120));
    assert_ne!(a.valid.objects(), &a.test.objects()[..50]);
}

#[test]
fn objects_respect_the_overlap_limit_and_the_count_range() {
    let Some(data) = data() else { return };
    for max_iou in [0.0, 0.05, 0.3] {
        let config = CanvasConfig::default()
            .size(96, 96)
            .objects(2, 5)
            .max_iou(max_iou);
        let set = CanvasSet::generate(data, Part::Test, 400, &config).unwrap();
        let mut counts = [0usize; 6];
        for objects in set.objects() {
            counts[objects.len()] += 1;
            for (i, a) in objects.iter().enumerate() {
                for b in &objects[..i] {
                    assert!(a.bbox.iou(&b.bbox) <= max_iou, "{max_iou}");
                }
            }
        }
        assert_eq!(counts[..2], [0, 0]);
        assert!(counts[2..].iter().all(|&n| n > 50), "{counts:?}");
    }
}

#[test]
fn a_lone_item_has_its_box_equal_to_its_non_zero_pixels_and_its_mask() {
    let Some(data) = data() else { return };
    for method in [Resize::Nearest, Resize::Bilinear] {
        let config = CanvasConfig::default().scale(0.5, 2.0).resize(method);
        let set = CanvasSet::generate(data, Part::Valid, 200, &config).unwrap();
        let mut sides = std::collections::BTreeSet::new();
        for c in set.iter() {
            let o = c.objects[0];
            sides.insert(o.frame.width());
            assert_eq!(PixelBox::enclosing(c.pixels, 0), Some(o.bbox));
            assert_eq!(PixelBox::enclosing(c.mask, 0), Some(o.bbox));
            assert!(c.mask.iter().all(|&m| m == 0 || m == o.class + 1));
        }
        assert!(sides.len() > 25, "{sides:?}");
        assert!(sides.iter().all(|&s| (14..=56).contains(&s)), "{sides:?}");
    }
}

#[test]
fn training_arrays_match_the_canvases() {
    let Some(data) = data() else { return };
    let set = CanvasSet::generate(data, Part::Train, 40, &CanvasConfig::default()).unwrap();
    let images = set.images();
    assert_eq!(images.dim(), (40, 64, 64, 1));
    for (i, c) in set.iter().enumerate() {
        let image = images
            .index_axis(Axis(0), i)
            .index_axis(Axis(2), 0)
            .to_owned();
        assert_eq!(image, c.image());
        assert_eq!(image, c.pixels.mapv(|p| p as f32 / 255.0));
    }
    assert!(images.iter().all(|v| (0.0..=1.0).contains(v)));
    let labels = set.labels().unwrap();
    let corners = set.boxes(BoxFormat::Corners).unwrap();
    let center = set.boxes(BoxFormat::Center).unwrap();
    for (i, o) in set.objects().iter().map(|o| o[0]).enumerate() {
        assert_eq!(labels[i], o.class);
        let b = o.bbox;
        let want = [b.x_min, b.y_min, b.x_max, b.y_max].map(|v| v as f32 / 64.0);
        assert_eq!(corners[i], want);
        let cx = (b.x_min + b.x_max) as f32 / 2.0 / 64.0;
        assert!((center[i][0] - cx).abs() < 1e-6);
        assert!((center[i][2] - b.width() as f32 / 64.0).abs() < 1e-6);
    }
    let one_hot = set.masks_one_hot();
    assert_eq!(one_hot.dim(), (40, 64, 64, MASK_CLASSES));
    for ((n, y, x), &m) in set.masks().indexed_iter() {
        let pixel = one_hot.slice(ndarray::s![n, y, x, ..]);
        assert_eq!(pixel.sum(), 1.0);
        assert_eq!(pixel[m as usize], 1.0);
    }
    // Several objects: per-canvas labels and boxes are refused, objects are there.
    let multi =
        CanvasSet::generate(data, Part::Test, 10, &CanvasConfig::default().objects(2, 2)).unwrap();
    let err = multi.boxes(BoxFormat::Corners).unwrap_err().to_string();
    assert!(
        err.contains("canvas 0 holds 2 objects") && err.contains("objects()"),
        "{err}"
    );
    assert!(multi.objects().iter().all(|o| o.len() == 2));
    // select and take keep canvases whole.
    let picked = multi.select(&[3, 1]).unwrap();
    assert_eq!(picked.get(0).unwrap().pixels, multi.get(3).unwrap().pixels);
    assert_eq!(picked.get(1).unwrap().mask, multi.get(1).unwrap().mask);
    assert_eq!(multi.take(100).len(), 10);
}

#[test]
fn bad_settings_are_errors_that_say_what_to_do() {
    let item = Split::new(vec![255; 784], vec![0]).unwrap();
    let err = |config: CanvasConfig| {
        CanvasSet::from_split(&item, 4, &config)
            .unwrap_err()
            .to_string()
    };
    let cases: Vec<(CanvasConfig, &[&str])> = vec![
        (
            CanvasConfig::default().size(20, 64),
            &[
                "smaller than the largest item (28x28",
                "at least 28x28",
                "0.71",
            ],
        ),
        (
            CanvasConfig::default().scale(1.0, 3.0),
            &["largest item (84x84", "max_scale to 2.28"],
        ),
        (CanvasConfig::default().size(0, 64), &["0x64 pixels"]),
        (
            CanvasConfig::default().objects(0, 3),
            &["0 objects per canvas", "min_objects to 1"],
        ),
        (
            CanvasConfig::default().objects(3, 2),
            &["min_objects 3 is above max_objects 2"],
        ),
        (
            CanvasConfig::default().scale(0.0, 1.0),
            &["canvas min_scale", "not a positive number"],
        ),
        (CanvasConfig::default().scale(f32::NAN, 1.0), &["NaN"]),
        (
            CanvasConfig::default().scale(1.2, 0.8),
            &["min_scale 1.2 is above max_scale 0.8"],
        ),
        (
            CanvasConfig::default().max_iou(1.5),
            &["max_iou", "outside 0..=1"],
        ),
        (
            CanvasConfig::default().mask_threshold(1.0),
            &["mask_threshold", "outside 0..1"],
        ),
        (CanvasConfig::default().max_attempts(0), &["0 placements"]),
        (
            CanvasConfig::default().sizes(usize::MAX / 2, 10, 10),
            &["would not fit in memory"],
        ),
        (
            CanvasConfig::default()
                .size(40, 40)
                .objects(2, 2)
                .max_iou(0.0),
            &["could not be placed", "make the canvas larger (now 40x40)"],
        ),
    ];
    for (config, needles) in cases {
        let message = err(config.clone());
        for needle in needles {
            assert!(message.contains(needle), "{config:?}: {message}");
        }
    }
    // A split without images, and a Fashion-MNIST too small for the validation part.
    let empty = Split::new(Vec::new(), Vec::new()).unwrap();
    let message = CanvasSet::from_split(&empty, 1, &CanvasConfig::default())
        .unwrap_err()
        .to_string();
    assert!(message.contains("no image to paste"), "{message}");
    let small = FashionMnist {
        train: Split::new(vec![1; 10 * 784], vec![0; 10]).unwrap(),
        test: item.clone(),
    };
    let message = CanvasSet::generate(&small, Part::Train, 1, &CanvasConfig::default())
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("holds 10 images") && message.contains("from_split"),
        "{message}"
    );
    // The test part needs only the test split.
    assert!(CanvasSet::generate(&small, Part::Test, 3, &CanvasConfig::default()).is_ok());
    // An index past the end.
    let set = CanvasSet::from_split(&item, 2, &CanvasConfig::default()).unwrap();
    assert!(set.get(2).is_none());
    let message = set.select(&[0, 2]).unwrap_err().to_string();
    assert!(message.contains("2 is past the end"), "{message}");
}

#[test]
fn a_hand_edited_split_with_missing_labels_is_not_a_panic() {
    let mut split = Split::new(vec![200; 3 * 784], vec![1, 2, 3]).unwrap();
    split.labels.truncate(1);
    let set = CanvasSet::from_split(&split, 20, &CanvasConfig::default()).unwrap();
    assert!(set
        .objects()
        .iter()
        .flatten()
        .all(|o| o.source == 0 && o.class == 1));
}
