//! Localization and detection figures (`figures::detection_boxes`, `figures::canvas_boxes`):
//! the boxes drawn where they belong, their labels, legends and errors.

use cnnkit_data::canvas::{CanvasConfig, CanvasSet};
use cnnkit_data::{Split, CLASS_NAMES_KO};
use cnnkit_nn::detection::{Detection, GroundTruth};
use cnnkit_viz::figures::{self, PREDICTED_BOX, TRUE_BOX};
use ndarray::Array3;

use crate::common::{count_text, has_text, well_formed};

/// How many rectangles are outlined in `color` (labels and legend squares are filled).
fn outlined(svg: &str, color: cnnkit_viz::plot::Rgb) -> usize {
    svg.matches(&format!("stroke=\"{}\"", color.hex())).count()
}

#[test]
fn true_and_predicted_boxes_are_drawn_where_they_are_with_their_labels() {
    let images = Array3::<f32>::zeros((3, 64, 64));
    let truth = vec![
        vec![
            GroundTruth::new([4.0, 4.0, 30.0, 30.0], 0),
            GroundTruth::new([34.0, 30.0, 60.0, 62.0], 9),
        ],
        vec![GroundTruth::new([10.0, 0.0, 38.0, 28.0], 1)],
        vec![],
    ];
    let predicted = vec![
        vec![Detection::new([5.0, 4.0, 31.0, 29.0], 0, 0.87)],
        vec![],
        vec![
            Detection::new([0.0, 0.0, 20.0, 20.0], 5, 0.5),
            // Partly outside the canvas: clamped to it.
            Detection::new([50.0, 50.0, 80.0, 90.0], 3, 0.25),
        ],
    ];
    let fig = figures::detection_boxes(&images, &truth, Some(&predicted), 2).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(svg.matches("<image").count(), 3);
    assert_eq!(outlined(svg, TRUE_BOX), 3);
    assert_eq!(outlined(svg, PREDICTED_BOX), 3);
    assert_eq!(
        svg.matches("stroke-dasharray").count(),
        3,
        "predictions are dashed"
    );
    // A 64 × 64 canvas is drawn 3 times larger; the first one at (10, 10 + 26) after the
    // margin and the legend row: the box [4, 4, 30, 30] is at 10 + 12 = 22, 36 + 12 = 48,
    // 26 × 3 = 78 pixels wide and high.
    assert!(
        svg.contains(
            "<rect x=\"22\" y=\"48\" width=\"78\" height=\"78\" fill=\"none\" \
             stroke=\"#2ca02c\" stroke-width=\"2\"/>"
        ),
        "{svg}"
    );
    // The clamped prediction on the third canvas (second row, first column: x 10,
    // y 36 + 192 + 12):
    // [50, 50, 64, 64] × 3.
    assert!(svg.contains("<rect x=\"160\" y=\"390\" width=\"42\" height=\"42\" fill=\"none\""));
    for label in [
        CLASS_NAMES_KO[0],
        CLASS_NAMES_KO[9],
        CLASS_NAMES_KO[1],
        "티셔츠/탑 0.87",
        "샌들 0.50",
        "드레스 0.25",
        "정답 상자 (true box)",
        "예측 상자, 점선 (predicted, dashed)",
    ] {
        assert!(has_text(svg, label), "{label} missing");
    }
    // Two columns of 192 pixels, 12 apart, margins of 10; two rows.
    assert_eq!(fig.width(), 10 + 192 + 12 + 192 + 10);
    assert_eq!(fig.height(), 36 + 192 + 12 + 192 + 10);
}

#[test]
fn without_predictions_only_the_true_boxes_and_their_legend() {
    let images = Array3::<f32>::zeros((1, 96, 96));
    let truth = vec![vec![GroundTruth::new([0.0, 0.0, 28.0, 28.0], 7)]];
    let fig = figures::detection_boxes(&images, &truth, None, 4).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(
        (outlined(svg, TRUE_BOX), outlined(svg, PREDICTED_BOX)),
        (1, 0)
    );
    assert!(!svg.contains("stroke-dasharray"));
    assert!(has_text(svg, "스니커즈") && !has_text(svg, "예측 상자, 점선 (predicted, dashed)"));
    // 96 × 96 is drawn twice as large: a box at the top-left corner gets its label inside.
    assert!(svg.contains("width=\"56\" height=\"56\" fill=\"none\""));
    // Predictions alone (no truth) are fine too.
    let alone = vec![vec![Detection::new([1.0, 1.0, 9.0, 9.0], 2, 0.9)]];
    let fig = figures::detection_boxes(&images, &[], Some(&alone), 1).unwrap();
    assert_eq!(outlined(fig.as_str(), PREDICTED_BOX), 1);
    assert!(!has_text(fig.as_str(), "정답 상자 (true box)"));
}

#[test]
fn canvas_boxes_draw_every_object_of_the_canvases() {
    let split = Split::new(
        (0..3u8).flat_map(|v| [80 + 70 * v; 784]).collect(),
        vec![2, 6, 8],
    )
    .unwrap();
    let config = CanvasConfig::default()
        .size(96, 96)
        .objects(1, 3)
        .max_iou(0.2);
    let set = CanvasSet::from_split(&split, 6, &config).unwrap();
    let objects: usize = set.objects().iter().map(Vec::len).sum();
    let fig = figures::canvas_boxes(&set, None, 3).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(svg.matches("<image").count(), 6);
    assert_eq!(outlined(svg, TRUE_BOX), objects);
    let labels: usize = [2, 6, 8]
        .iter()
        .map(|&c| count_text(svg, CLASS_NAMES_KO[c]))
        .sum();
    assert_eq!(labels, objects);
    // With predictions equal to the truth, as many dashed boxes, each with a score.
    let predicted: Vec<Vec<Detection>> = set
        .objects()
        .iter()
        .map(|o| {
            o.iter()
                .map(|o| Detection::new(o.bbox, o.class as usize, 1.0))
                .collect()
        })
        .collect();
    let fig = figures::canvas_boxes(&set, Some(&predicted), 3).unwrap();
    assert_eq!(outlined(fig.as_str(), PREDICTED_BOX), objects);
    assert_eq!(
        count_text(fig.as_str(), &format!("{} 1.00", CLASS_NAMES_KO[6])),
        set.class_counts()[6]
    );
}

#[test]
fn detection_figures_reject_bad_input_with_a_sentence() {
    let err = |r: cnnkit_viz::Result<cnnkit_viz::plot::Svg>| r.unwrap_err().to_string();
    let three = Array3::<f32>::zeros((3, 64, 64));
    let none: &[Vec<GroundTruth>] = &[];
    assert!(err(figures::detection_boxes(
        &Array3::<f32>::zeros((0, 64, 64)),
        none,
        None,
        2
    ))
    .contains("show 1 to 32"));
    assert!(err(figures::detection_boxes(
        &Array3::<f32>::zeros((33, 8, 8)),
        none,
        None,
        2
    ))
    .contains("show 1 to 32"));
    let truth = vec![vec![]; 2];
    assert!(err(figures::detection_boxes(&three, &truth, None, 2)).contains("2 lists for 3 images"));
    let predicted = vec![vec![]; 4];
    assert!(
        err(figures::detection_boxes(&three, none, Some(&predicted), 2))
            .contains("4 lists for 3 images")
    );
    assert!(err(figures::detection_boxes(&three, none, None, 0)).contains("columns"));
    assert!(err(figures::detection_boxes(
        &Array3::<f32>::zeros((1, 0, 5)),
        none,
        None,
        1
    ))
    .contains("at least one pixel"));
}
