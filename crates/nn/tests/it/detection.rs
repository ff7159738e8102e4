//! Detection and segmentation metrics (`cnnkit_nn::detection`, the segmentation part of
//! `cnnkit_nn::metrics`) against cases computed by hand: every expected value below says
//! where it comes from, with the precision-recall tables written out.

use cnnkit_data::canvas::{BoxFormat, CanvasConfig, CanvasSet, PixelBox};
use cnnkit_data::Split;
use cnnkit_nn::detection::{
    ap_from_curve, average_precision, ground_truths, iou, iou_batch, iou_matrix,
    mean_average_precision, mean_box_iou, nms_indices, non_max_suppression, ApMethod, BoundingBox,
    Detection, GroundTruth, NmsConfig,
};
use cnnkit_nn::metrics::{class_iou, mean_iou, pixel_accuracy, pixel_confusion_matrix};
use ndarray::array;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn close(a: f32, b: f64, what: &str) {
    assert!((a as f64 - b).abs() < 1e-6, "{what}: got {a}, expected {b}");
}

// ---- IoU --------------------------------------------------------------------------------

#[test]
fn iou_of_hand_drawn_boxes() {
    // Same box: 1. Apart or only touching: 0.
    assert_eq!(iou([0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 4.0, 4.0]), 1.0);
    assert_eq!(iou([0.0, 0.0, 4.0, 4.0], [5.0, 5.0, 6.0, 6.0]), 0.0);
    assert_eq!(iou([0.0, 0.0, 4.0, 4.0], [4.0, 0.0, 8.0, 4.0]), 0.0);
    // A 4 × 4 box inside an 8 × 8 one: 16 / 64.
    assert_eq!(iou([0.0, 0.0, 4.0, 4.0], [0.0, 0.0, 8.0, 8.0]), 0.25);
    // 2 × 2 squares shifted diagonally by one: they share 1, cover 4 + 4 - 1 = 7.
    close(
        iou([0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 3.0]),
        1.0 / 7.0,
        "diagonal",
    );
    // A 10 × 10 box and a 10 × 5 half of it: exactly 0.5.
    assert_eq!(iou([0.0, 0.0, 10.0, 10.0], [0.0, 0.0, 10.0, 5.0]), 0.5);
    // Empty boxes (zero width, or max below min) have area 0: IoU 0, never NaN.
    assert_eq!(iou([1.0, 1.0, 1.0, 5.0], [1.0, 1.0, 1.0, 5.0]), 0.0);
    assert_eq!(iou([3.0, 3.0, 1.0, 1.0], [0.0, 0.0, 4.0, 4.0]), 0.0);
    // Symmetric, and in any units.
    let (a, b) = ([0.1, 0.2, 0.5, 0.6], [0.3, 0.1, 0.9, 0.4]);
    assert_eq!(iou(a, b), iou(b, a));
    close(
        iou(a, b),
        iou(
            BoundingBox::from(a).scaled(64.0, 64.0),
            BoundingBox::from(b).scaled(64.0, 64.0),
        ) as f64,
        "scaled",
    );
}

#[test]
fn iou_of_pixel_boxes_is_their_pixel_count_ratio() {
    let mut rng = StdRng::seed_from_u64(0);
    let mut random_box = || {
        let (x, y) = (rng.gen_range(0..40), rng.gen_range(0..40));
        PixelBox::new(x, y, x + rng.gen_range(0..20), y + rng.gen_range(0..20))
    };
    for _ in 0..500 {
        let (a, b) = (random_box(), random_box());
        close(iou(a, b), a.iou(&b) as f64, "PixelBox::iou");
        // Counting pixels one by one.
        let (mut inter, mut union) = (0, 0);
        for y in 0..60 {
            for x in 0..60 {
                let (ia, ib) = (a.contains(x, y), b.contains(x, y));
                inter += (ia && ib) as usize;
                union += (ia || ib) as usize;
            }
        }
        let want = if union == 0 {
            0.0
        } else {
            inter as f64 / union as f64
        };
        close(iou(a, b), want, &format!("{a} and {b}"));
    }
}

#[test]
fn batch_ious_match_the_single_ones() {
    let a = [
        BoundingBox::new(0.0, 0.0, 2.0, 2.0),
        BoundingBox::new(0.0, 0.0, 10.0, 10.0),
    ];
    let b = [
        BoundingBox::new(1.0, 1.0, 3.0, 3.0),
        BoundingBox::new(0.0, 0.0, 10.0, 5.0),
        BoundingBox::new(50.0, 50.0, 51.0, 51.0),
    ];
    let m = iou_matrix(&a, &b);
    assert_eq!(m.dim(), (2, 3));
    for i in 0..2 {
        for j in 0..3 {
            assert_eq!(m[[i, j]], a[i].iou(&b[j]));
        }
    }
    assert_eq!(m[[1, 1]], 0.5);
    // Center format: (0.5, 0.5, 0.5, 0.5) is [0.25, 0.25, 0.75, 0.75]; against its left
    // half [0.25, 0.25, 0.5, 0.75] the IoU is 0.5.
    let predicted = [[0.5, 0.5, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]];
    let truth = [[0.375, 0.5, 0.25, 0.5], [0.5, 0.5, 0.5, 0.5]];
    let ious = iou_batch(&predicted, &truth, BoxFormat::Center).unwrap();
    assert_eq!(ious, vec![0.5, 1.0]);
    assert_eq!(
        mean_box_iou(&predicted, &truth, BoxFormat::Center).unwrap(),
        0.75
    );
    let err = iou_batch(&predicted, &truth[..1], BoxFormat::Corners).unwrap_err();
    assert!(
        err.to_string().contains("2 predicted boxes but 1 true"),
        "{err}"
    );
    assert!(mean_box_iou(&[], &[], BoxFormat::Corners).is_err());
}

// ---- non-max suppression ------------------------------------------------------------

#[test]
fn nms_keeps_the_best_box_of_each_cluster() {
    let d = [
        Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.7),   // 0
        Detection::new([1.0, 0.0, 11.0, 10.0], 0, 0.9),   // 1: IoU 90/110 = 0.82 with 0
        Detection::new([0.0, 1.0, 10.0, 11.0], 0, 0.8),   // 2: IoU 81/119 = 0.68 with 1
        Detection::new([40.0, 40.0, 50.0, 50.0], 0, 0.6), // 3: alone
        Detection::new([45.0, 40.0, 55.0, 50.0], 0, 0.5), // 4: IoU 50/150 = 0.33 with 3
    ];
    // Ranked 1, 2, 0, 3, 4: 1 kept; 2 and 0 overlap 1 above 0.5: suppressed; 3 kept; 4
    // overlaps 3 only by 0.33: kept.
    let cfg = NmsConfig::default();
    assert_eq!(nms_indices(&d, &cfg).unwrap(), vec![1, 3, 4]);
    assert_eq!(
        non_max_suppression(&d, &cfg).unwrap(),
        vec![d[1], d[3], d[4]]
    );
    // A stricter threshold (0.3) also suppresses 4; max_detections cuts the list.
    assert_eq!(
        nms_indices(&d, &cfg.iou_threshold(0.3)).unwrap(),
        vec![1, 3]
    );
    assert_eq!(nms_indices(&d, &cfg.max_detections(2)).unwrap(), vec![1, 3]);
    // The score threshold keeps scores strictly above it.
    assert_eq!(nms_indices(&d, &cfg.score_threshold(0.6)).unwrap(), vec![1]);
    assert!(nms_indices(&[], &cfg).unwrap().is_empty());
}

#[test]
fn nms_is_greedy_suppressed_boxes_do_not_suppress() {
    // A overlaps B (IoU 75/125 = 0.6) and B overlaps C (0.6), A and C less (50/150 =
    // 0.33): B goes with A, so C stays although B would have suppressed it.
    let a = Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.9);
    let b = Detection::new([2.5, 0.0, 12.5, 10.0], 0, 0.8);
    let c = Detection::new([5.0, 0.0, 15.0, 10.0], 0, 0.7);
    assert!(a.bbox.iou(&b.bbox) > 0.5 && b.bbox.iou(&c.bbox) > 0.5);
    close(a.bbox.iou(&c.bbox), 50.0 / 150.0, "A and C");
    assert_eq!(
        non_max_suppression(&[a, b, c], &NmsConfig::default()).unwrap(),
        vec![a, c]
    );
}

#[test]
fn nms_breaks_ties_by_input_order_and_suppresses_only_above_the_threshold() {
    let same = Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.5);
    // Two equal boxes with equal scores: the first listed is kept.
    assert_eq!(
        nms_indices(&[same, same], &NmsConfig::default()).unwrap(),
        vec![0]
    );
    // IoU exactly 0.5 is not above 0.5: both kept.
    let half = Detection::new([0.0, 0.0, 10.0, 5.0], 0, 0.4);
    assert_eq!(
        nms_indices(&[same, half], &NmsConfig::default()).unwrap(),
        vec![0, 1]
    );
    // Equal scores in several classes: input order, then max_detections counts all.
    let d = [
        Detection::new([0.0, 0.0, 1.0, 1.0], 2, 0.5),
        Detection::new([5.0, 0.0, 6.0, 1.0], 1, 0.5),
        Detection::new([9.0, 0.0, 10.0, 1.0], 0, 0.5),
    ];
    assert_eq!(
        nms_indices(&d, &NmsConfig::default().max_detections(2)).unwrap(),
        vec![0, 1]
    );
}

#[test]
fn per_class_nms_is_class_agnostic_nms_on_each_class_merged_by_score() {
    let mut rng = StdRng::seed_from_u64(3);
    for round in 0..50 {
        let d: Vec<Detection> = (0..30)
            .map(|_| {
                let (x, y) = (rng.gen_range(0.0..50.0), rng.gen_range(0.0..50.0));
                let (w, h) = (rng.gen_range(2.0..20.0), rng.gen_range(2.0..20.0));
                let score = (rng.gen_range(0..20) as f32) / 20.0; // ties happen
                Detection::new([x, y, x + w, y + h], rng.gen_range(0..3), score)
            })
            .collect();
        let cfg = NmsConfig::default().iou_threshold(0.3);
        let per_class = nms_indices(&d, &cfg).unwrap();
        let mut merged: Vec<usize> = Vec::new();
        for class in 0..3 {
            let of_class: Vec<usize> = (0..d.len()).filter(|&i| d[i].class == class).collect();
            let subset: Vec<Detection> = of_class.iter().map(|&i| d[i]).collect();
            let kept = nms_indices(&subset, &cfg.per_class(false)).unwrap();
            merged.extend(kept.into_iter().map(|k| of_class[k]));
        }
        // Merge by score, ties by input index (the order NMS ranks in).
        merged.sort_by(|&a, &b| d[b].score.total_cmp(&d[a].score).then(a.cmp(&b)));
        assert_eq!(per_class, merged, "round {round}");
        // Class-agnostic: no two kept boxes overlap above the threshold; every dropped box
        // (above the score threshold) overlaps a kept one of higher rank.
        let agnostic = nms_indices(&d, &cfg.per_class(false)).unwrap();
        for (n, &i) in agnostic.iter().enumerate() {
            for &j in &agnostic[..n] {
                assert!(d[i].bbox.iou(&d[j].bbox) <= 0.3);
            }
        }
        for i in (0..d.len()).filter(|&i| d[i].score > 0.0 && !agnostic.contains(&i)) {
            assert!(agnostic.iter().any(|&k| d[k].bbox.iou(&d[i].bbox) > 0.3));
        }
    }
}

#[test]
fn nms_rejects_bad_input_with_a_sentence() {
    let ok = Detection::new([0.0, 0.0, 1.0, 1.0], 0, 0.5);
    let nan = Detection::new([0.0, 0.0, 1.0, 1.0], 0, f32::NAN);
    let err = nms_indices(&[ok, nan], &NmsConfig::default()).unwrap_err();
    assert!(err.to_string().contains("detection 1 has box"), "{err}");
    let inf = Detection::new([0.0, f32::INFINITY, 1.0, 1.0], 0, 0.5);
    assert!(nms_indices(&[inf], &NmsConfig::default()).is_err());
    let err = nms_indices(&[ok], &NmsConfig::default().iou_threshold(1.5)).unwrap_err();
    assert!(err.to_string().contains("outside 0..=1"), "{err}");
    assert!(nms_indices(&[ok], &NmsConfig::default().score_threshold(f32::NAN)).is_err());
}

// ---- average precision ------------------------------------------------------------------

/// Two images, one class (0), three ground truths, six detections.
///
/// ```text
/// image 0: g0 [0, 0, 10, 10]   g1 [20, 0, 30, 10]
/// image 1: g2 [0, 0, 10, 10]
///
/// det  image  box              score  IoU with the best free ground truth
/// a    0      [0, 0, 10, 10]   0.95   g0: 1
/// b    1      [50, 50, 60, 60] 0.90   none: 0
/// c    0      [0, 0, 10, 9]    0.85   g0 is taken (IoU 0.9): duplicate; g1: 0
/// d    1      [1, 0, 11, 10]   0.80   g2: 90 / 110 = 0.818
/// e    0      [24, 0, 34, 10]  0.70   g1: 60 / 140 = 0.429
/// f    1      [0, 0, 10, 10]   0.60   g2 is taken by d (IoU 1): duplicate
/// ```
fn two_images() -> (Vec<Vec<Detection>>, Vec<Vec<GroundTruth>>) {
    let truth = vec![
        vec![
            GroundTruth::new([0.0, 0.0, 10.0, 10.0], 0),
            GroundTruth::new([20.0, 0.0, 30.0, 10.0], 0),
        ],
        vec![GroundTruth::new([0.0, 0.0, 10.0, 10.0], 0)],
    ];
    // Listed out of rank order on purpose: ranking is by score.
    let found = vec![
        vec![
            Detection::new([24.0, 0.0, 34.0, 10.0], 0, 0.70), // e
            Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.95),  // a
            Detection::new([0.0, 0.0, 10.0, 9.0], 0, 0.85),   // c
        ],
        vec![
            Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.60), // f
            Detection::new([1.0, 0.0, 11.0, 10.0], 0, 0.80), // d
            Detection::new([50.0, 50.0, 60.0, 60.0], 0, 0.90), // b
        ],
    ];
    (found, truth)
}

#[test]
fn ap_at_iou_half_from_the_hand_made_table() {
    let (found, truth) = two_images();
    // At IoU 0.5, e (0.429) is a false positive:
    //
    // rank det  TP?  TP so far  precision  recall
    // 1    a    TP   1          1/1        1/3
    // 2    b    FP   1          1/2        1/3
    // 3    c    FP   1          1/3        1/3
    // 4    d    TP   2          2/4        2/3
    // 5    e    FP   2          2/5        2/3
    // 6    f    FP   2          2/6        2/3
    //
    // All-point: envelope 1, 1/2, 1/2, 1/2, 2/5, 1/3; recall rises by 1/3 at rank 1
    // (envelope 1) and by 1/3 at rank 4 (envelope 1/2): AP = 1/3 + 1/6 = 0.5.
    // 11-point: recalls 0, 0.1, 0.2, 0.3 (<= 1/3) reach precision 1; 0.4, 0.5, 0.6
    // (<= 2/3) reach at most 1/2; 0.7 .. 1 are never reached: (4 + 3/2) / 11 = 0.5.
    // 101-point: 0 .. 0.33 (34 levels) at 1, 0.34 .. 0.66 (33 levels) at 1/2:
    // (34 + 16.5) / 101 = 0.5. The three agree here by the thirds.
    let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)
        .unwrap()
        .unwrap();
    let rows: Vec<(usize, usize, bool)> = ap
        .table
        .iter()
        .map(|r| (r.image, r.index, r.true_positive))
        .collect();
    assert_eq!(
        rows,
        vec![
            (0, 1, true),  // a
            (1, 2, false), // b
            (0, 2, false), // c
            (1, 1, true),  // d
            (0, 0, false), // e
            (1, 0, false), // f
        ]
    );
    let want_p = [1.0, 0.5, 1.0 / 3.0, 0.5, 0.4, 1.0 / 3.0];
    let want_r = [
        1.0 / 3.0,
        1.0 / 3.0,
        1.0 / 3.0,
        2.0 / 3.0,
        2.0 / 3.0,
        2.0 / 3.0,
    ];
    for k in 0..6 {
        close(ap.precision()[k], want_p[k], &format!("precision {k}"));
        close(ap.recall()[k], want_r[k], &format!("recall {k}"));
    }
    close(ap.table[0].iou, 1.0, "a's IoU");
    close(ap.table[3].iou, 90.0 / 110.0, "d's IoU");
    assert_eq!((ap.ground_truths, ap.true_positives()), (3, 2));
    close(ap.ap, 0.5, "all-point");
    for method in [ApMethod::Voc2007, ApMethod::Coco101] {
        let ap = average_precision(&found, &truth, 0, 0.5, method)
            .unwrap()
            .unwrap();
        close(ap.ap, 0.5, method.name());
    }
}

#[test]
fn ap_at_iou_0_4_tells_the_three_methods_apart() {
    let (found, truth) = two_images();
    // At IoU 0.4, e (0.429) matches g1: rank 5 becomes TP 3 of 5, precision 3/5, recall 1;
    // rank 6 (f, a duplicate) has precision 3/6, recall 1.
    //
    // All-point: envelope 1, 3/5, 3/5, 3/5, 3/5, 1/2; steps of 1/3 at ranks 1, 4 and 5:
    //   AP = 1/3 * 1 + 1/3 * 3/5 + 1/3 * 3/5 = 11/15 = 0.7333.
    // 11-point: 0 .. 0.3 at 1 (4 levels), 0.4 .. 1 at max(1/2 at 2/3, 3/5 at 1) = 3/5
    //   (7 levels): (4 + 4.2) / 11 = 0.74545.
    // 101-point: 0 .. 0.33 at 1 (34 levels), 0.34 .. 1 at 3/5 (67 levels):
    //   (34 + 40.2) / 101 = 0.73465.
    let expected = [
        (ApMethod::AllPoints, 11.0 / 15.0),
        (ApMethod::Voc2007, 8.2 / 11.0),
        (ApMethod::Coco101, 74.2 / 101.0),
    ];
    for (method, want) in expected {
        let ap = average_precision(&found, &truth, 0, 0.4, method)
            .unwrap()
            .unwrap();
        close(ap.ap, want, method.name());
        assert_eq!(ap.true_positives(), 3);
        let m = mean_average_precision(&found, &truth, 0.4, method).unwrap();
        close(m.map, want, "mAP of one class");
        assert_eq!((m.iou_threshold, m.method), (0.4, method));
    }
}

#[test]
fn map_averages_the_classes_with_ground_truth_only() {
    // image 0: class 1 at [0, 0, 10, 10], class 2 at [20, 20, 30, 30]
    // image 1: class 1 at [5, 5, 15, 15]
    let truth = vec![
        vec![
            GroundTruth::new([0.0, 0.0, 10.0, 10.0], 1),
            GroundTruth::new([20.0, 20.0, 30.0, 30.0], 2),
        ],
        vec![GroundTruth::new([5.0, 5.0, 15.0, 15.0], 1)],
    ];
    let found = vec![
        vec![
            Detection::new([0.0, 0.0, 10.0, 10.0], 1, 0.9), // class 1: TP
            Detection::new([0.0, 0.0, 10.0, 10.0], 2, 0.8), // class 2, wrong place: FP
        ],
        vec![
            Detection::new([5.0, 5.0, 15.0, 15.0], 7, 0.99), // class 7 has no truth: ignored
            Detection::new([5.0, 5.0, 15.0, 15.0], 1, 0.3),  // class 1: TP
        ],
    ];
    // Class 1: ranks 0.9 TP (P 1, R 1/2), 0.3 TP (P 1, R 1): AP 1 by every method.
    // Class 2: one FP (P 0, R 0): AP 0. mAP = (1 + 0) / 2.
    for method in [ApMethod::AllPoints, ApMethod::Voc2007, ApMethod::Coco101] {
        let m = mean_average_precision(&found, &truth, 0.5, method).unwrap();
        let classes: Vec<usize> = m.classes.iter().map(|c| c.class).collect();
        assert_eq!(classes, vec![1, 2], "{method:?}");
        assert_eq!(
            (m.ap_of(1), m.ap_of(2), m.ap_of(7)),
            (Some(1.0), Some(0.0), None)
        );
        assert_eq!(m.map, 0.5, "{method:?}");
    }
    // A class with ground truths and no detection at all: AP 0 with an empty table.
    let none = average_precision(&[vec![], vec![]], &truth, 2, 0.5, ApMethod::AllPoints)
        .unwrap()
        .unwrap();
    assert_eq!((none.ap, none.table.len(), none.ground_truths), (0.0, 0, 1));
}

#[test]
fn a_detection_takes_a_free_ground_truth_when_its_best_one_is_taken() {
    // g0 [0, 0, 10, 10] and g1 [2, 0, 12, 10] overlap. Two detections on g0 exactly:
    // the first (0.9) takes g0 (IoU 1; g1 has 80 / 120 = 0.67). The second (0.8) finds
    // g0 taken and g1 free with IoU 0.67 >= 0.5: a TP here (COCO's matching). The VOC
    // devkit would look at g0 only and count it a FP.
    let truth = vec![vec![
        GroundTruth::new([0.0, 0.0, 10.0, 10.0], 0),
        GroundTruth::new([2.0, 0.0, 12.0, 10.0], 0),
    ]];
    let found = vec![vec![
        Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.9),
        Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.8),
    ]];
    let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)
        .unwrap()
        .unwrap();
    assert!(ap.table.iter().all(|r| r.true_positive));
    close(ap.table[1].iou, 80.0 / 120.0, "second match");
    assert_eq!(ap.ap, 1.0);
    // At 0.7 the second one is a duplicate: P 1, 1/2 at R 1/2: AP 1/2.
    let strict = average_precision(&found, &truth, 0, 0.7, ApMethod::AllPoints)
        .unwrap()
        .unwrap();
    assert_eq!(strict.ap, 0.5);
}

#[test]
fn equal_scores_rank_by_image_then_position_and_iou_at_the_threshold_matches() {
    // Image 0 holds a FP and image 1 a TP, both scored 0.5: the FP ranks first.
    // rank 1: FP, P 0, R 0; rank 2: TP, P 1/2, R 1. All-point: envelope 1/2, 1/2; the
    // recall step of 1 is at rank 2: AP 1/2 (the other order would give 1).
    let truth = vec![vec![], vec![GroundTruth::new([0.0, 0.0, 10.0, 10.0], 0)]];
    let found = vec![
        vec![Detection::new([0.0, 0.0, 10.0, 10.0], 0, 0.5)],
        // IoU exactly 0.5 with the truth: a match (IoU >= threshold).
        vec![Detection::new([0.0, 0.0, 10.0, 5.0], 0, 0.5)],
    ];
    let ap = average_precision(&found, &truth, 0, 0.5, ApMethod::AllPoints)
        .unwrap()
        .unwrap();
    assert_eq!(
        ap.table.iter().map(|r| r.image).collect::<Vec<_>>(),
        vec![0, 1]
    );
    assert_eq!(
        (ap.precision(), ap.recall()),
        (vec![0.0, 0.5], vec![0.0, 1.0])
    );
    assert_eq!(ap.ap, 0.5);
    // 11-point: every recall level is reached only at rank 2, precision 1/2: AP 1/2.
    let voc = average_precision(&found, &truth, 0, 0.5, ApMethod::Voc2007)
        .unwrap()
        .unwrap();
    close(voc.ap, 0.5, "VOC 2007");
}

#[test]
fn ap_from_a_curve_follows_the_formulas() {
    // Precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1 (two objects, a duplicate between):
    // all-point 1/2 * 1 + 1/2 * 2/3 = 5/6; 11-point (6 * 1 + 5 * 2/3) / 11;
    // 101-point: levels 0 .. 0.5 (51) at 1, 0.51 .. 1 (50) at 2/3: (51 + 100/3) / 101.
    let (p, r) = ([1.0, 0.5, 2.0 / 3.0], [0.5, 0.5, 1.0]);
    close(
        ap_from_curve(&p, &r, ApMethod::AllPoints).unwrap(),
        5.0 / 6.0,
        "all",
    );
    close(
        ap_from_curve(&p, &r, ApMethod::Voc2007).unwrap(),
        (6.0 + 10.0 / 3.0) / 11.0,
        "11",
    );
    close(
        ap_from_curve(&p, &r, ApMethod::Coco101).unwrap(),
        (51.0 + 100.0 / 3.0) / 101.0,
        "101",
    );
    assert_eq!(ap_from_curve(&[], &[], ApMethod::AllPoints).unwrap(), 0.0);
    let err = ap_from_curve(&[1.0, 1.0], &[0.5, 0.4], ApMethod::AllPoints).unwrap_err();
    assert!(
        err.to_string().contains("recall falls from 0.5 to 0.4"),
        "{err}"
    );
    assert!(ap_from_curve(&[1.0], &[0.5, 1.0], ApMethod::AllPoints).is_err());
    assert!(ap_from_curve(&[1.5], &[0.5], ApMethod::AllPoints).is_err());
}

#[test]
fn ap_rejects_bad_input_with_a_sentence() {
    let truth = vec![vec![GroundTruth::new([0.0, 0.0, 1.0, 1.0], 0)]];
    let found = vec![vec![Detection::new([0.0, 0.0, 1.0, 1.0], 0, 0.5)]];
    let err = mean_average_precision(&found, &[], 0.5, ApMethod::AllPoints).unwrap_err();
    assert!(err
        .to_string()
        .contains("detections for 1 images but ground truths for 0"));
    let err = mean_average_precision(&found, &truth, 2.0, ApMethod::AllPoints).unwrap_err();
    assert!(err.to_string().contains("outside 0..=1"), "{err}");
    let nan = vec![vec![Detection::new([0.0, 0.0, 1.0, 1.0], 0, f32::NAN)]];
    let err = average_precision(&nan, &truth, 0, 0.5, ApMethod::AllPoints).unwrap_err();
    assert!(err.to_string().contains("detection 0 of image 0"), "{err}");
    let bad_truth = vec![vec![GroundTruth::new([0.0, f32::NAN, 1.0, 1.0], 0)]];
    assert!(average_precision(&found, &bad_truth, 0, 0.5, ApMethod::AllPoints).is_err());
    let err = mean_average_precision(&found, &[vec![]], 0.5, ApMethod::AllPoints).unwrap_err();
    assert!(
        err.to_string().contains("no image has a ground truth"),
        "{err}"
    );
}

#[test]
fn perfect_detections_on_canvases_score_one() {
    let split = Split::new(
        (0..3u8).flat_map(|v| [60 + 60 * v; 784]).collect(),
        vec![0, 4, 9],
    )
    .unwrap();
    let config = CanvasConfig::default()
        .size(96, 96)
        .objects(1, 3)
        .max_iou(0.3);
    let set = CanvasSet::from_split(&split, 30, &config).unwrap();
    let truth = ground_truths(&set);
    let found: Vec<Vec<Detection>> = truth
        .iter()
        .map(|g| {
            g.iter()
                .map(|g| Detection::new(g.bbox, g.class, 0.9))
                .collect()
        })
        .collect();
    for method in [ApMethod::AllPoints, ApMethod::Voc2007, ApMethod::Coco101] {
        let m = mean_average_precision(&found, &truth, 0.5, method).unwrap();
        assert_eq!(m.map, 1.0);
        assert_eq!(m.classes.len(), 3);
    }
    // The same boxes called the wrong class: no match, mAP 0.
    let wrong: Vec<Vec<Detection>> = found
        .iter()
        .map(|d| {
            d.iter()
                .map(|d| Detection {
                    class: (d.class + 1) % 10,
                    ..*d
                })
                .collect()
        })
        .collect();
    let m = mean_average_precision(&wrong, &truth, 0.5, ApMethod::AllPoints).unwrap();
    assert_eq!(m.map, 0.0);
}

// ---- segmentation ---------------------------------------------------------------------

#[test]
fn segmentation_metrics_of_a_hand_made_mask() {
    // truth        predicted
    // 0 0 1 1      0 1 1 1
    // 0 0 1 1      0 0 1 3
    // 2 2 0 0      0 2 0 0
    let truth = array![[0u8, 0, 1, 1], [0, 0, 1, 1], [2, 2, 0, 0]];
    let predicted = array![[0u8, 1, 1, 1], [0, 0, 1, 3], [0, 2, 0, 0]];
    let cm = pixel_confusion_matrix(&truth, &predicted, 5).unwrap();
    // Rows: true 0 (6 pixels: 5 right, 1 as 1), true 1 (4: 3 right, 1 as 3),
    // true 2 (2: 1 right, 1 as 0); class 4 never occurs.
    assert_eq!(
        cm,
        array![
            [5, 1, 0, 0, 0],
            [0, 3, 0, 1, 0],
            [1, 0, 1, 0, 0],
            [0, 0, 0, 0, 0],
            [0, 0, 0, 0, 0]
        ]
    );
    // 5 + 3 + 1 of 12 pixels right.
    assert_eq!(pixel_accuracy(&cm), 0.75);
    // IoU = TP / (row + column - TP):
    //   class 0: 5 / (6 + 6 - 5) = 5/7; class 1: 3 / (4 + 4 - 3) = 3/5;
    //   class 2: 1 / (2 + 1 - 1) = 1/2; class 3: predicted once, never true: 0 / 1 = 0;
    //   class 4: in neither, NaN, left out of the mean.
    let iou = class_iou(&cm);
    close(iou[0], 5.0 / 7.0, "class 0");
    close(iou[1], 3.0 / 5.0, "class 1");
    close(iou[2], 0.5, "class 2");
    assert_eq!(iou[3], 0.0);
    assert!(iou[4].is_nan());
    close(
        mean_iou(&cm),
        (5.0 / 7.0 + 3.0 / 5.0 + 0.5 + 0.0) / 4.0,
        "mean over the 4 present classes",
    );
    // Errors: shapes, values, no classes. An empty matrix has NaN metrics.
    let err = pixel_confusion_matrix(&truth, &predicted.t(), 5).unwrap_err();
    assert!(err.to_string().contains("[3, 4]"), "{err}");
    let err = pixel_confusion_matrix(&truth, &predicted, 3).unwrap_err();
    assert!(
        err.to_string().contains("predicted mask holds the value 3"),
        "{err}"
    );
    assert!(pixel_confusion_matrix(&truth, &truth, 0).is_err());
    let empty = ndarray::Array2::<usize>::zeros((3, 3));
    assert!(pixel_accuracy(&empty).is_nan() && mean_iou(&empty).is_nan());
}

#[test]
fn canvas_masks_predicted_perfectly_or_as_background() {
    let split = Split::new(vec![200; 2 * 784], vec![3, 8]).unwrap();
    let config = CanvasConfig::default().objects(1, 2);
    let set = CanvasSet::from_split(&split, 20, &config).unwrap();
    let masks = set.masks();
    let cm = pixel_confusion_matrix(masks, masks, 11).unwrap();
    assert_eq!(pixel_accuracy(&cm), 1.0);
    assert_eq!(mean_iou(&cm), 1.0);
    // Only background (0), class 3 (mask 4) and class 8 (mask 9) occur.
    let present: Vec<usize> = (0..11).filter(|&c| !class_iou(&cm)[c].is_nan()).collect();
    assert_eq!(present, vec![0, 4, 9]);
    // Predicting background everywhere: accuracy is the background's share; IoU of the
    // background is that share too (its union is every pixel), the items' IoUs are 0.
    let background = ndarray::Array3::<u8>::zeros(masks.dim());
    let cm = pixel_confusion_matrix(masks, &background, 11).unwrap();
    let share = masks.iter().filter(|&&m| m == 0).count() as f64 / masks.len() as f64;
    close(pixel_accuracy(&cm), share, "accuracy");
    close(class_iou(&cm)[0], share, "background IoU");
    close(mean_iou(&cm), share / 3.0, "mean IoU");
}
