//! The book's figures redrawn: the numbers and labels they must show.

use cnnkit_nn::arith::{Padding, Window};
use cnnkit_nn::ops::PoolKind;
use cnnkit_viz::figures;
use ndarray::{array, Array2, Array3};

use crate::common::{attr, count_text, has_text, positions, texts, well_formed};

// ---- padding and stride (figures 14-6, 14-7) -------------------------------------------

#[test]
fn same_padding_adds_the_keras_number_of_zeros() {
    // 5×7 input, 3×3 kernel, stride 2: out 3×4; pads (1, 1) rows and (1, 1) columns.
    let fig = figures::padding_grid(5, 7, 3, 2, Padding::Same, (0, 0)).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(count_text(svg, "0"), 7 * 9 - 5 * 7);
    assert!(has_text(svg, "출력 3×4"));
    assert!(svg.contains("padding=&quot;same&quot;"));
}

#[test]
fn odd_padding_puts_the_extra_zero_bottom_right_as_keras_does() {
    // 5×5, 2×2 kernel, stride 2: total padding 1 per axis, all of it after.
    let fig = figures::padding_grid(5, 5, 2, 2, Padding::Same, (0, 0)).unwrap();
    let svg = fig.as_str();
    assert_eq!(count_text(svg, "0"), 6 * 6 - 5 * 5);
    // With 3×3 and stride 1 the padding is one zero on each side.
    let sym = figures::padding_grid(5, 5, 3, 1, Padding::Same, (0, 0)).unwrap();
    assert_eq!(count_text(sym.as_str(), "0"), 7 * 7 - 5 * 5);
    // Top-left corner: a zero with symmetric padding; none when all padding comes after
    // (the bottom row and right column of zeros meet only in the bottom-right corner).
    let corner = |v: &[(f64, f64)]| {
        let (x, y) = v
            .iter()
            .fold((f64::MAX, f64::MAX), |a, p| (a.0.min(p.0), a.1.min(p.1)));
        v.contains(&(x, y))
    };
    assert!(corner(&positions(sym.as_str(), "0")));
    assert!(!corner(&positions(svg, "0")));
}

#[test]
fn valid_padding_has_no_zeros_and_marks_ignored_cells_only_when_there_are_some() {
    let fig = figures::padding_grid(6, 6, 3, 2, Padding::Valid, (1, 1)).unwrap();
    assert_eq!(count_text(fig.as_str(), "0"), 0);
    assert!(has_text(fig.as_str(), "무시되는 셀"));
    assert!(has_text(fig.as_str(), "출력 2×2"));
    let exact = figures::padding_grid(7, 7, 3, 2, Padding::Valid, (2, 2)).unwrap();
    assert!(!has_text(exact.as_str(), "무시되는 셀"));
    assert!(has_text(exact.as_str(), "출력 3×3"));
}

#[test]
fn padding_grid_rejects_bad_settings() {
    let err = figures::padding_grid(5, 5, 3, 1, Padding::Same, (5, 0)).unwrap_err();
    assert!(err.to_string().contains("outside the 5×5 output"), "{err}");
    assert!(figures::padding_grid(3, 3, 5, 1, Padding::Valid, (0, 0)).is_err());
    assert!(figures::padding_grid(3, 3, 3, 0, Padding::Same, (0, 0)).is_err());
}

// ---- receptive fields (figures 14-2, 14-5) ---------------------------------------------

#[test]
fn receptive_field_grows_through_the_layers() {
    let fig = figures::receptive_field((9, 9), &[Window::new(3, 1); 3], (0, 0)).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    for t in [
        "입력 9×9",
        "출력 7×7",
        "출력 5×5",
        "출력 3×3",
        "수용장 3×3",
        "수용장 5×5",
        "수용장 7×7",
        "보이는 입력 7×7",
    ] {
        assert!(has_text(svg, t), "{t}");
    }
}

#[test]
fn receptive_field_with_stride_doubles_the_growth() {
    // 3×3 stride 2, then 3×3: 3 + 2 × 2 = 7 input pixels.
    let fig =
        figures::receptive_field((9, 9), &[Window::new(3, 2), Window::new(3, 1)], (1, 1)).unwrap();
    assert!(has_text(fig.as_str(), "수용장 7×7"));
    assert!(has_text(fig.as_str(), "층 1: 3×3, 보폭 2"));
    // The neuron at (1, 1) of the last layer sees input rows 2..=8: 7 rows, cut by nothing.
    assert!(has_text(fig.as_str(), "보이는 입력 7×7"));
}

#[test]
fn receptive_field_reports_bad_layers_and_positions() {
    let err = figures::receptive_field((4, 4), &[Window::new(3, 1), Window::new(3, 1)], (0, 0))
        .unwrap_err();
    assert!(err.to_string().contains("layer 2"), "{err}");
    let err = figures::receptive_field((7, 7), &[Window::new(3, 1)], (0, 5)).unwrap_err();
    assert!(err.to_string().contains("5×5"), "{err}");
    assert!(figures::receptive_field((7, 7), &[], (0, 0)).is_err());
}

// ---- pooling (figures 14-10, 14-11, 14-12) ---------------------------------------------

#[test]
fn max_pooling_grid_shows_inputs_and_window_maxima() {
    let x = array![
        [1.0_f32, 5.0, 2.0, 0.0, 3.0],
        [3.0, 4.0, 8.0, 1.0, 2.0],
        [0.0, 2.0, 1.0, 1.0, 7.0],
        [7.0, 1.0, 3.0, 6.0, 0.0],
        [2.0, 2.0, 9.0, 1.0, 4.0]
    ];
    let fig = figures::pooling_grid(&x, 2, 2, PoolKind::Max).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    // Every input number once, plus each output number once more.
    assert_eq!(count_text(svg, "9"), 1); // in the ignored last row: not an output
    assert_eq!(count_text(svg, "5"), 2);
    assert_eq!(count_text(svg, "8"), 2);
    assert_eq!(count_text(svg, "7"), 3); // 7 twice in the input, once as output
    assert_eq!(count_text(svg, "6"), 2);
    assert!(has_text(svg, "출력 2×2") && has_text(svg, "무시되는 셀"));
    // Four winners circled.
    assert_eq!(svg.matches("<circle").count(), 4);
}

#[test]
fn average_pooling_grid_shows_means() {
    let x = array![[1.0_f32, 2.0], [3.0, 5.0]];
    let fig = figures::pooling_grid(&x, 2, 2, PoolKind::Avg).unwrap();
    assert!(has_text(fig.as_str(), "2.75"));
    assert!(has_text(
        fig.as_str(),
        "평균 풀링: 2×2 커널, 보폭 2, padding=&quot;valid&quot;"
    ));
    assert_eq!(fig.as_str().matches("<circle").count(), 0);
    let err = figures::pooling_grid(&x, 3, 3, PoolKind::Max).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");
}

#[test]
fn overlapping_windows_show_only_the_first_and_last() {
    let x = Array2::from_shape_fn((5, 5), |(r, c)| (r * 5 + c) as f32);
    let fig = figures::pooling_grid(&x, 3, 1, PoolKind::Max).unwrap();
    assert!(has_text(fig.as_str(), "출력 3×3"));
    assert_eq!(fig.as_str().matches("<circle").count(), 2);
    assert!(has_text(fig.as_str(), "24") && has_text(fig.as_str(), "12"));
}

#[test]
fn pooling_invariance_compares_each_shift_with_the_first() {
    let a = Array2::from_shape_fn((4, 8), |(r, c)| {
        if c % 4 == 0 && r % 2 == 0 {
            1.0_f32
        } else {
            0.0
        }
    });
    let fig = figures::pooling_invariance(&a, 2, &[0, 1, 2, 1]).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(count_text(svg, "= A와 같음"), 2);
    assert!(texts(svg).iter().any(|(_, c)| c.starts_with("≠ A와 다름")));
    for t in ["A", "B", "C", "D", "2칸 이동"] {
        assert!(has_text(svg, t), "{t}");
    }
    assert!(figures::pooling_invariance(&a, 2, &[]).is_err());
}

#[test]
fn depthwise_pooling_takes_the_max_over_maps_per_pixel() {
    let maps = Array3::from_shape_fn((2, 2, 3), |(r, c, k)| {
        [
            [[1.0_f32, 7.0, 3.0], [0.0, 0.0, 4.0]],
            [[9.0, 2.0, 2.0], [5.0, 6.0, 1.0]],
        ][r][c][k]
    });
    let fig = figures::depthwise_pooling_diagram(&maps, (0, 0), PoolKind::Max).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert!(has_text(svg, "max(1, 7, 3) = 7"));
    for t in [
        "특성지도 1",
        "특성지도 2",
        "특성지도 3",
        "출력 (특성지도 1개)",
    ] {
        assert!(has_text(svg, t), "{t}");
    }
    // Output values 7, 4, 9, 6 appear in bold.
    for v in ["7", "4", "9", "6"] {
        assert!(
            svg.contains(&format!("font-weight=\"bold\">{v}</text>")),
            "{v}"
        );
    }
    let avg = figures::depthwise_pooling_diagram(&maps, (1, 1), PoolKind::Avg).unwrap();
    assert!(has_text(avg.as_str(), "mean(5, 6, 1) = 4"));
    assert!(figures::depthwise_pooling_diagram(&maps, (2, 0), PoolKind::Max).is_err());
}

// ---- architecture and feature maps (figures 14-3, 14-8, 14-9) -----------------------------

#[test]
fn lecture_cnn_diagram_lists_every_stage() {
    let fig = figures::cnn_architecture(figures::LECTURE_CNN).unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(count_text(svg, "MaxPool2D"), 3);
    for t in [
        "입력",
        "28×28×1",
        "28×28×64",
        "14×14×128",
        "7×7×256",
        "3×3×256",
        "2304",
        "10 softmax",
    ] {
        assert!(has_text(svg, t), "{t}");
    }
    // One arrow (a line and a head) between neighbouring stages.
    assert_eq!(svg.matches("<line").count(), figures::LECTURE_CNN.len() - 1);
}

#[test]
fn architecture_boxes_shrink_with_the_spatial_size() {
    let fig = figures::cnn_architecture(&[("큰 층", 28, 28, 8), ("작은 층", 7, 7, 8)]).unwrap();
    // Front faces are the `rect`s after the background; compare their heights.
    let heights: Vec<f64> = fig
        .as_str()
        .split("<rect")
        .skip(2)
        .map(|r| attr(r, "height"))
        .collect();
    assert_eq!(heights.len(), 2);
    assert!((heights[0] / heights[1] - 4.0).abs() < 1e-6, "{heights:?}");
    assert!(figures::cnn_architecture(&[("x", 0, 1, 1)]).is_err());
    assert!(figures::cnn_architecture(&[]).is_err());
}

#[test]
fn feature_map_stack_draws_input_filters_maps_and_the_stack() {
    let img = Array2::<f32>::from_shape_fn((10, 10), |(r, c)| (r * c) as f32);
    let f = Array2::<f32>::eye(3);
    let maps: Vec<Array2<f32>> = (0..3).map(|k| img.mapv(|v| v * k as f32)).collect();
    let views: Vec<_> = maps.iter().map(|m| m.view()).collect();
    let fig = figures::feature_map_stack(
        img.view(),
        &[f.view(), f.view(), f.view()],
        &views,
        &[] as &[&str],
    )
    .unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(svg.matches("<image").count(), 1 + 3 + 3 + 3);
    for t in [
        "입력 이미지",
        "필터 1",
        "필터 3",
        "특성지도 3",
        "층의 출력 10×10×3",
    ] {
        assert!(has_text(svg, t), "{t}");
    }
    // Without filters.
    let fig = figures::feature_map_stack(img.view(), &[], &views, &["a", "b", "c"]).unwrap();
    assert_eq!(fig.as_str().matches("<image").count(), 1 + 3 + 3);
    // Mismatches are errors.
    let err = figures::feature_map_stack(img.view(), &[f.view()], &views, &[] as &[&str]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "invalid filters: 1 filters but 3 feature maps: give one filter per map, or none"
    );
    let err = figures::feature_map_stack(img.view(), &[], &views, &["a"]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "invalid names: 1 names but 3 feature maps: give one name per map, or none"
    );
    let small = Array2::<f32>::zeros((4, 4));
    let err =
        figures::feature_map_stack(img.view(), &[], &[views[0], small.view()], &[] as &[&str])
            .unwrap_err();
    assert!(err.to_string().contains("differ in size"), "{err}");
}

// ---- semantic segmentation (notebook 10) ---------------------------------------------------

#[test]
fn segmentation_colours_each_class_and_names_it_in_the_legend() {
    let image = Array2::<f32>::zeros((4, 4));
    let truth = array![[0u8, 1, 1, 0], [0, 3, 3, 0], [0, 0, 0, 0], [11, 0, 0, 0]];
    let fig = figures::segmentation(
        &[image.view(), image.view()],
        &[vec![truth.view(), truth.view()]],
        &["입력", "정답"],
        &["티셔츠/탑", "바지", "풀오버"],
    )
    .unwrap();
    let svg = fig.as_str();
    well_formed(svg);
    assert_eq!(svg.matches("<image").count(), 4);
    for name in ["입력", "정답", "배경", "티셔츠/탑", "바지", "풀오버"] {
        assert!(has_text(svg, name), "{name} missing");
    }
    let rgb = figures::mask_rgb(truth.view());
    assert_eq!(rgb.get_pixel(0, 0).0, [0, 0, 0]);
    assert_eq!(rgb.get_pixel(1, 0).0, [31, 119, 180]); // class 0: tab10 blue
    assert_eq!(rgb.get_pixel(1, 1).0, [44, 160, 44]); // class 2: tab10 green
    assert_eq!(rgb.get_pixel(0, 3).0, [255, 255, 255]); // no such class
}

#[test]
fn segmentation_rejects_masks_that_do_not_match_the_images() {
    let image = Array2::<f32>::zeros((4, 4));
    let small = Array2::<u8>::zeros((3, 4));
    let err = figures::segmentation(&[image.view()], &[vec![small.view()]], &["a", "b"], &["c"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("(3, 4)"), "{err}");
    let err = figures::segmentation(&[image.view()], &[vec![]], &["a", "b"], &["c"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("0 masks for 1 images"), "{err}");
    let err = figures::segmentation(&[image.view()], &[], &["a", "b"], &["c"])
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 titles for 1 columns"), "{err}");
}
