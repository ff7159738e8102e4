//! Charts: learning curves, lines, bars, heatmaps, tables.

use cnnkit_nn::Error as NnError;
use cnnkit_viz::plot::{self, Style};
use cnnkit_viz::Error;
use ndarray::array;

use crate::common::{balanced, has_text, texts, y_of};

const LOSS: [f32; 4] = [0.9, 0.6, 0.5, 0.45];
const VAL_LOSS: [f32; 4] = [0.7, 0.6, 0.55, 0.56];
const ACC: [f32; 4] = [0.7, 0.8, 0.84, 0.86];
const VAL_ACC: [f32; 4] = [0.75, 0.79, 0.81, 0.82];

#[test]
fn learning_curves_show_every_series_in_the_legend_and_start_y_at_zero() {
    let fig = plot::learning_curves(
        &[
            ("loss", &LOSS[..]),
            ("val_loss", &VAL_LOSS[..]),
            ("accuracy", &ACC[..]),
            ("val_accuracy", &VAL_ACC[..]),
        ],
        "에포크",
    )
    .unwrap();
    let svg = fig.as_str();
    balanced(svg);
    for name in ["loss", "val_loss", "accuracy", "val_accuracy", "에포크"] {
        assert!(has_text(svg, name), "{name}");
    }
    // y axis from 0 to 1; epochs 1..4 on x.
    assert!(has_text(svg, "0") && has_text(svg, "1"));
    for e in ["1", "2", "3", "4"] {
        assert!(has_text(svg, e));
    }
}

#[test]
fn validation_series_are_dashed_in_the_colour_of_their_training_series() {
    let two = [("loss", &LOSS[..]), ("val_loss", &VAL_LOSS[..])];
    let dashed = plot::learning_curves(&two, "epoch").unwrap();
    let solid = plot::line_chart(&two, "epoch", "", "").unwrap();
    // A dashed line is drawn as many short pieces.
    let pieces = |s: &str| s.matches("<polyline").count();
    assert!(pieces(dashed.as_str()) > pieces(solid.as_str()) + 5);
    // Same colour for loss and val_loss (the first palette colour), no second colour.
    let blue = plot::PALETTE[0].hex().to_uppercase();
    let orange = plot::PALETTE[1].hex().to_uppercase();
    assert!(dashed.as_str().contains(&blue));
    assert!(!dashed.as_str().contains(&orange));
    assert!(solid.as_str().contains(&orange));
}

#[test]
fn line_chart_does_not_force_zero_and_skips_nan() {
    let loss = [0.9_f32, f32::NAN, 0.5, 0.45];
    let fig = plot::line_chart(&[("loss", &loss[..])], "epoch", "loss", "손실").unwrap();
    let svg = fig.as_str();
    assert!(has_text(svg, "손실"));
    assert!(
        !has_text(svg, "0"),
        "the y axis should fit the data, not start at 0"
    );
    assert!(!svg.contains("NaN"));
    let all_nan = [f32::NAN; 3];
    let err = plot::line_chart(&[("loss", &all_nan[..])], "", "", "").unwrap_err();
    assert!(err.to_string().contains("no finite values"), "{err}");
    assert!(plot::line_chart(&[("empty", &[][..])], "", "", "").is_err());
    assert!(plot::line_chart::<&str>(&[], "", "", "").is_err());
}

#[test]
fn vec_series_can_be_passed_by_reference() {
    let loss: Vec<f32> = vec![1.0, 0.5];
    let name = String::from("loss");
    let fig = plot::learning_curves(&[(name, &loss[..])], "epoch").unwrap();
    assert!(fig.as_str().contains("loss"));
}

#[test]
fn style_sets_the_figure_size() {
    let style = Style::default().figsize(500, 250);
    let fig = style
        .learning_curves(&[("loss", &LOSS[..])], "epoch")
        .unwrap();
    assert_eq!((fig.width(), fig.height()), (500, 250));
    assert!(fig
        .as_str()
        .starts_with("<svg width=\"500\" height=\"250\""));
}

#[test]
fn bar_chart_lists_labels_top_to_bottom_with_formatted_values() {
    let labels = ["conv2d", "max_pooling2d", "dense"];
    let fig = plot::bar_chart(&labels, &[3_200_usize, 0, 1_180_160], "파라미터").unwrap();
    let svg = fig.as_str();
    balanced(svg);
    for v in ["3,200", "0", "1,180,160", "파라미터"] {
        assert!(has_text(svg, v), "{v}");
    }
    let ys: Vec<f64> = labels.iter().map(|l| y_of(svg, l)).collect();
    assert!(ys[0] < ys[1] && ys[1] < ys[2], "{ys:?}");
    // No empty extra row: exactly three bars.
    let bars = svg
        .matches(&format!(
            "fill=\"{}\"",
            plot::PALETTE[0].hex().to_uppercase()
        ))
        .count();
    assert_eq!(bars, 3);
}

#[test]
fn bar_chart_with_one_bar_and_fractions() {
    let fig = plot::bar_chart(&["정확도"], &[0.9117_f64], "").unwrap();
    assert!(has_text(fig.as_str(), "0.912"));
}

#[test]
fn bar_chart_rejects_mismatched_and_non_finite_input() {
    let err = plot::bar_chart(&["a", "b"], &[1_u32], "").unwrap_err();
    assert!(err.to_string().contains("2 labels but 1 values"), "{err}");
    let err = plot::bar_chart(&["a"], &[f64::INFINITY], "").unwrap_err();
    assert!(err.to_string().contains("`a`"), "{err}");
    assert!(plot::bar_chart::<&str, u32>(&[], &[], "").is_err());
}

#[test]
fn scatter_and_line_check_lengths() {
    let fig = plot::scatter(&[1.0, 2.0], &[3.0, 4.0], "").unwrap();
    assert_eq!(fig.as_str().matches("<circle").count(), 2);
    let err = plot::line(&[1.0, 2.0], &[3.0], "").unwrap_err();
    assert!(matches!(err, Error::Nn(NnError::Invalid { .. })));
    assert!(plot::function(|x| x, 1.0..1.0, "").is_err());
}

#[test]
fn confusion_matrix_has_counts_class_names_and_row_shares_as_colours() {
    let names = ["T-shirt/top", "Trouser", "Pullover"];
    let cm = array![[90_usize, 5, 5], [0, 100, 0], [30, 0, 70]];
    let fig = plot::confusion_matrix(&cm, &names).unwrap();
    let svg = fig.as_str();
    balanced(svg);
    for n in names {
        // Each name twice: rows and columns.
        assert_eq!(texts(svg).iter().filter(|(_, c)| c == n).count(), 2, "{n}");
    }
    for v in ["90", "100", "70", "30", "0"] {
        assert!(has_text(svg, v), "{v}");
    }
    assert!(has_text(svg, "실제 클래스") && has_text(svg, "예측 클래스"));
    // Row "Trouser" is all correct: its diagonal cell has the darkest colour.
    assert!(svg.contains("fill=\"#08306b\""));
    // Dark cells get white numbers.
    assert!(svg.contains("fill=\"#ffffff\">100</text>"));
    let err = plot::confusion_matrix(&array![[1_u32, 2, 3]], &["a"]).unwrap_err();
    assert!(err.to_string().contains("square"), "{err}");
}

#[test]
fn heatmap_checks_label_counts_and_writes_values() {
    let m = array![[0.5_f32, -1.25], [2.0, 0.0]];
    let fig = plot::heatmap(&m, &["r0", "r1"], &["c0", "c1"], "").unwrap();
    for v in ["0.5", "-1.25", "2", "0", "r1", "c1"] {
        assert!(has_text(fig.as_str(), v), "{v}");
    }
    let err = plot::heatmap(&m, &["only"], &["c0", "c1"], "").unwrap_err();
    assert!(err.to_string().contains("row labels"), "{err}");
    // Without labels it still draws.
    assert!(plot::heatmap(&m, &[] as &[&str], &[], "").is_ok());
}

#[test]
fn table_escapes_cells_right_aligns_numbers_and_aligns_plain_text() {
    let t = plot::table(
        &["층", "파라미터 수"],
        &[
            vec!["conv2d <Conv2D>".to_string(), "3,200".to_string()],
            vec!["합계".to_string(), "1,413,834".to_string()],
        ],
    );
    let html = t.as_str();
    assert!(html.contains("conv2d &lt;Conv2D&gt;"));
    assert!(!html.contains("<Conv2D>"));
    assert_eq!(html.matches("text-align:right").count(), 3); // header + 2 cells
    let lines: Vec<&str> = t.text().lines().collect();
    assert_eq!(lines.len(), 4);
    // Numbers end in the same column; Hangul counts two columns.
    assert!(lines[2].ends_with("    3,200"), "{:?}", lines[2]);
    assert!(lines[3].ends_with("1,413,834"));
    let width = |s: &str| {
        s.chars()
            .map(|c| if c.is_ascii() { 1 } else { 2 })
            .sum::<usize>()
    };
    assert_eq!(width(lines[2]), width(lines[3]));
}

#[test]
fn table_pads_short_rows() {
    let t = plot::table(&["a", "b", "c"], &[vec![1], vec![2]]);
    assert_eq!(t.as_str().matches("<td").count(), 6);
}
