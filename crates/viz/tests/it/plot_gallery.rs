//! Writes every figure of `cnnkit_viz::plot` and `cnnkit_viz::figures` to one folder, with an HTML
//! page per figure, for looking at them in a browser (or headless Chromium):
//!
//! ```text
//! CNNKIT_GALLERY=/tmp/gallery cargo test -p cnnkit --test plot_gallery -- --ignored
//! ```

use std::path::{Path, PathBuf};

use cnnkit_nn::arith::{Padding, Window};
use cnnkit_nn::ops::PoolKind;
use cnnkit_viz::figures;
use cnnkit_viz::plot::{self, Svg};
use ndarray::{Array2, Array3};

use cnnkit_data::CLASS_NAMES_EN as CLASSES;

fn page(dir: &Path, name: &str, body: &str) {
    let html = format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head>\
         <body style=\"margin:8px;background:#fff\">{body}</body></html>"
    );
    std::fs::write(dir.join(format!("{name}.html")), html).unwrap();
}

fn svg(dir: &Path, name: &str, fig: Svg) {
    fig.save(dir.join(name)).unwrap();
    page(dir, name, &fig.to_html());
}

/// A smooth blob image standing in for a Fashion-MNIST item.
fn blob(seed: usize) -> Array2<f32> {
    Array2::from_shape_fn((28, 28), |(r, c)| {
        let (y, x) = (r as f32 - 14.0, c as f32 - 14.0 + seed as f32);
        (1.0 - (x * x / 60.0 + y * y / (30.0 + 10.0 * seed as f32))).max(0.0)
    })
}

#[test]
#[ignore = "writes files for viewing; set CNNKIT_GALLERY"]
fn gallery() {
    let dir = PathBuf::from(
        std::env::var("CNNKIT_GALLERY").unwrap_or_else(|_| "/tmp/cnnkit_gallery".into()),
    );
    std::fs::create_dir_all(&dir).unwrap();

    // Charts
    let loss = [
        0.62_f32, 0.41, 0.36, 0.33, 0.31, 0.29, 0.28, 0.27, 0.26, 0.25,
    ];
    let val_loss = [
        0.45_f32, 0.38, 0.35, 0.33, 0.32, 0.31, 0.31, 0.30, 0.31, 0.31,
    ];
    let acc = [
        0.78_f32, 0.85, 0.87, 0.88, 0.89, 0.895, 0.90, 0.905, 0.91, 0.912,
    ];
    let val_acc = [
        0.84_f32, 0.86, 0.87, 0.88, 0.885, 0.89, 0.89, 0.893, 0.892, 0.894,
    ];
    svg(
        &dir,
        "learning_curves",
        plot::learning_curves(
            &[
                ("loss", &loss[..]),
                ("val_loss", &val_loss[..]),
                ("accuracy", &acc[..]),
                ("val_accuracy", &val_acc[..]),
            ],
            "에포크",
        )
        .unwrap(),
    );
    svg(
        &dir,
        "line_chart",
        plot::line_chart(
            &[("훈련 손실", &loss[..]), ("검증 손실", &val_loss[..])],
            "에포크",
            "손실",
            "학습 곡선",
        )
        .unwrap(),
    );
    svg(
        &dir,
        "function",
        plot::function(|x| x.max(0.0), -3.0..3.0, "ReLU 활성화 함수").unwrap(),
    );
    let xs: Vec<f32> = (0..40).map(|i| i as f32 / 4.0).collect();
    let ys: Vec<f32> = xs.iter().map(|x| (x * 1.3).sin() * x).collect();
    svg(&dir, "scatter", plot::scatter(&xs, &ys, "산점도").unwrap());
    let layers = [
        "conv2d (Conv2D)",
        "conv2d_1 (Conv2D)",
        "conv2d_2 (Conv2D)",
        "conv2d_3 (Conv2D)",
        "conv2d_4 (Conv2D)",
        "dense (Dense)",
        "dense_1 (Dense)",
        "dense_2 (Dense)",
    ];
    let params = [
        3_200_usize,
        73_856,
        147_584,
        295_168,
        590_080,
        295_040,
        8_256,
        650,
    ];
    svg(
        &dir,
        "bar_chart",
        plot::bar_chart(&layers, &params, "층별 파라미터 수 (합계 1,413,834)").unwrap(),
    );
    let cm = Array2::from_shape_fn((10, 10), |(i, j)| {
        if i == j {
            850 + 13 * i
        } else {
            ((i * 7 + j * 3) % 23) * if (i, j) == (6, 0) { 6 } else { 1 }
        }
    });
    svg(
        &dir,
        "confusion_matrix",
        plot::confusion_matrix(&cm, &CLASSES).unwrap(),
    );
    let corr = Array2::from_shape_fn((4, 5), |(i, j)| ((i as f32 - j as f32) * 0.37).cos());
    svg(
        &dir,
        "heatmap",
        plot::heatmap(
            &corr,
            &["가", "나", "다", "라"],
            &["a", "b", "c", "d", "e"],
            "히트맵",
        )
        .unwrap(),
    );

    // Images
    let img = blob(0);
    let png = plot::show_gray(&img).unwrap();
    png.save(dir.join("show_gray")).unwrap();
    page(
        &dir,
        "show_gray",
        &format!("<img src=\"{}\">", png.data_uri()),
    );
    let mut k = Array2::<f32>::from_elem((7, 7), -0.2);
    k.column_mut(3).fill(1.0);
    let png = plot::show_filter(&k).unwrap();
    page(
        &dir,
        "show_filter",
        &format!("<img src=\"{}\">", png.data_uri()),
    );
    let imgs: Vec<Array2<f32>> = (0..10).map(blob).collect();
    let views: Vec<_> = imgs.iter().map(|a| a.view()).collect();
    let titles: Vec<String> = CLASSES
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i == 6 {
                format!("예측: {c}\n정답: Coat")
            } else {
                c.to_string()
            }
        })
        .collect();
    svg(
        &dir,
        "image_grid",
        plot::image_grid(&views, &titles, 5).unwrap(),
    );
    let maps = Array3::from_shape_fn((14, 14, 8), |(r, c, k)| {
        (r as f32 * (k + 1) as f32 * 0.3).sin() + (c as f32 * 0.5).cos()
    });
    svg(&dir, "feature_maps", plot::feature_maps(&maps, 4).unwrap());
    let t = plot::table(
        &["층", "출력 모양", "파라미터 수"],
        &[
            vec!["conv2d (Conv2D)", "(None, 28, 28, 64)", "3,200"],
            vec!["max_pooling2d (MaxPool2D)", "(None, 14, 14, 64)", "0"],
            vec!["dense_2 (Dense)", "(None, 10)", "650"],
        ],
    );
    page(&dir, "table", t.as_str());

    // Figures
    svg(
        &dir,
        "receptive_field",
        figures::receptive_field((7, 7), &[Window::new(3, 1), Window::new(3, 1)], (1, 1)).unwrap(),
    );
    svg(
        &dir,
        "receptive_field_stride",
        figures::receptive_field((9, 9), &[Window::new(3, 2), Window::new(3, 1)], (0, 1)).unwrap(),
    );
    svg(
        &dir,
        "padding_same",
        figures::padding_grid(5, 7, 3, 1, Padding::Same, (0, 0)).unwrap(),
    );
    svg(
        &dir,
        "padding_stride2",
        figures::padding_grid(5, 7, 3, 2, Padding::Same, (1, 3)).unwrap(),
    );
    svg(
        &dir,
        "padding_valid",
        figures::padding_grid(6, 6, 3, 2, Padding::Valid, (0, 1)).unwrap(),
    );
    let x = ndarray::array![
        [1.0_f32, 5.0, 2.0, 0.0, 3.0],
        [3.0, 4.0, 8.0, 1.0, 2.0],
        [0.0, 2.0, 1.0, 1.0, 7.0],
        [7.0, 1.0, 3.0, 6.0, 0.0],
        [2.0, 2.0, 9.0, 1.0, 4.0]
    ];
    svg(
        &dir,
        "pooling_max",
        figures::pooling_grid(&x, 2, 2, PoolKind::Max).unwrap(),
    );
    svg(
        &dir,
        "pooling_avg_overlap",
        figures::pooling_grid(&x, 3, 1, PoolKind::Avg).unwrap(),
    );
    let a = Array2::from_shape_fn((6, 8), |(r, c)| {
        if (c == 2 || c == 4) && (1..5).contains(&r) {
            1.0_f32
        } else if r == 2 && c == 3 {
            0.6
        } else {
            0.0
        }
    });
    svg(
        &dir,
        "pooling_invariance",
        figures::pooling_invariance(&a, 2, &[0, 1, 2]).unwrap(),
    );
    let dm = Array3::from_shape_fn((4, 4, 3), |(r, c, k)| ((r * 5 + c * 3 + k * 7) % 10) as f32);
    svg(
        &dir,
        "depthwise",
        figures::depthwise_pooling_diagram(&dm, (1, 2), PoolKind::Max).unwrap(),
    );
    svg(
        &dir,
        "architecture",
        figures::cnn_architecture(figures::LECTURE_CNN).unwrap(),
    );
    let mut vertical = Array2::<f32>::zeros((7, 7));
    vertical.column_mut(3).fill(1.0);
    let horizontal = vertical.t().to_owned();
    let stripes = Array2::from_shape_fn((28, 28), |(r, c)| {
        if (c / 4) % 2 == 0 && r > 4 {
            1.0
        } else if r % 9 == 0 {
            0.8
        } else {
            0.0_f32
        }
    });
    let m1 = Array2::from_shape_fn((28, 28), |(r, c)| {
        if (c / 4) % 2 == 0 && r > 4 {
            1.0
        } else {
            0.1_f32
        }
    });
    let m2 = Array2::from_shape_fn((28, 28), |(r, _)| if r % 9 == 0 { 1.0 } else { 0.1_f32 });
    svg(
        &dir,
        "feature_map_stack",
        figures::feature_map_stack(
            stripes.view(),
            &[vertical.view(), horizontal.view()],
            &[m1.view(), m2.view()],
            &["세로선 필터", "가로선 필터"],
        )
        .unwrap(),
    );
    svg(
        &dir,
        "architecture_small",
        figures::cnn_architecture(&[
            ("입력 이미지", 32, 32, 3),
            ("합성곱 층", 32, 32, 32),
            ("풀링 층", 16, 16, 32),
            ("합성곱 층", 16, 16, 64),
            ("풀링 층", 8, 8, 64),
            ("밀집 층", 1, 1, 256),
            ("출력", 1, 1, 10),
        ])
        .unwrap(),
    );
    svg(
        &dir,
        "depthwise_avg",
        figures::depthwise_pooling_diagram(&dm, (0, 0), PoolKind::Avg).unwrap(),
    );
}
