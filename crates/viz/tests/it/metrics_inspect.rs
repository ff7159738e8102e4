//! Metrics (confusion matrix, per-class accuracy, mistakes) and visual explanations
//! (filters, feature maps, image grids).

use cnnkit_nn::metrics::{
    accuracy, confusion_matrix, misclassified, per_class_accuracy, top_confusions,
};
use cnnkit_nn::prelude::*;
use cnnkit_viz::inspect;
use ndarray::{array, Array3, Array4, Axis};

// ---- metrics ---------------------------------------------------------------------------

/// The example of scikit-learn's `confusion_matrix` docstring (sklearn 1.x):
/// `confusion_matrix([2, 0, 2, 2, 0, 1], [0, 0, 2, 2, 0, 2])` is
/// `[[2, 0, 0], [0, 0, 1], [1, 0, 2]]`.
#[test]
fn confusion_matrix_matches_scikit_learn_docstring() {
    let y_true: [u8; 6] = [2, 0, 2, 2, 0, 1];
    let y_pred: [usize; 6] = [0, 0, 2, 2, 0, 2];
    let cm = confusion_matrix(&y_true, &y_pred, 3).unwrap();
    assert_eq!(cm, array![[2, 0, 0], [0, 0, 1], [1, 0, 2]]);
    // recall_score(y_true, y_pred, average=None) = [1.0, 0.0, 0.6667]
    let per_class = per_class_accuracy(&cm);
    assert_eq!(&per_class[..2], &[1.0, 0.0]);
    assert!((per_class[2] - 2.0 / 3.0).abs() < 1e-6);
    // accuracy_score(y_true, y_pred) = 4 / 6
    assert!((accuracy(&y_true, &y_pred).unwrap() - 4.0 / 6.0).abs() < 1e-6);
    assert_eq!(misclassified(&y_true, &y_pred).unwrap(), vec![0, 5]);
}

#[test]
fn confusion_matrix_rows_sum_to_class_counts() {
    let y_true: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
    let y_pred: Vec<usize> = (0..100).map(|i| (i * 7 % 10) as usize).collect();
    let cm = confusion_matrix(&y_true, &y_pred, 10).unwrap();
    assert_eq!(cm.sum(), 100);
    for row in cm.rows() {
        assert_eq!(row.sum(), 10);
    }
    let trace: usize = cm.diag().sum();
    let wrong = misclassified(&y_true, &y_pred).unwrap().len();
    assert_eq!(trace + wrong, 100);
}

#[test]
fn metrics_report_length_mismatch_with_both_lengths() {
    let err = confusion_matrix(&[1u8, 2, 3], &[1usize, 2], 10)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("3 true labels") && err.contains("2 predictions"),
        "{err}"
    );
    assert!(misclassified(&[1u8], &[1usize, 2]).is_err());
    assert!(accuracy(&[1u8], &[1usize, 2]).is_err());
    let err = accuracy::<u8, usize>(&[], &[]).unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
}

#[test]
fn confusion_matrix_names_the_label_out_of_range() {
    let err = confusion_matrix(&[0u8, 1, 10], &[0usize, 1, 2], 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("true label of item 2 is 10"), "{err}");
    let err = confusion_matrix(&[0u8], &[12usize], 10)
        .unwrap_err()
        .to_string();
    assert!(err.contains("prediction of item 0 is 12"), "{err}");
    assert!(confusion_matrix(&[0u8], &[0usize], 0).is_err());
}

#[test]
fn per_class_accuracy_of_an_empty_class_is_nan() {
    let cm = array![[3_usize, 1], [0, 0]];
    let acc = per_class_accuracy(&cm);
    assert_eq!(acc[0], 0.75);
    assert!(acc[1].is_nan());
}

#[test]
fn top_confusions_orders_by_count_and_skips_the_diagonal() {
    // Shirt (6) taken for T-shirt/top (0) is Fashion-MNIST's most common mistake.
    let mut cm = ndarray::Array2::<usize>::zeros((10, 10));
    cm[[6, 0]] = 90;
    cm[[4, 2]] = 40;
    cm[[2, 4]] = 40;
    cm[[3, 3]] = 900;
    assert_eq!(
        top_confusions(&cm, 3),
        vec![(6, 0, 90), (2, 4, 40), (4, 2, 40)]
    );
    assert_eq!(top_confusions(&cm, 100).len(), 3);
}

#[test]
fn confusion_matrix_plots_with_class_names() {
    let y_true: [u8; 4] = [0, 1, 1, 0];
    let y_pred: [usize; 4] = [0, 1, 0, 0];
    let cm = confusion_matrix(&y_true, &y_pred, 2).unwrap();
    let fig = cnnkit_viz::plot::confusion_matrix(&cm, &["티셔츠/탑", "바지"]).unwrap();
    assert!(fig.as_str().contains(">2</text>") && fig.as_str().contains("바지"));
}

// ---- inspect ---------------------------------------------------------------------------

/// A 3x3 convolution with hand-set weights: filter 0 is `1..=9` row by row, filter 1 its
/// negative; no bias, no activation.
fn hand_conv() -> cnnkit_nn::layers::Conv2DModule<1, 2, 3, 1, Same, Identity, f32, Cpu> {
    let dev = Cpu::default();
    let mut conv = dev.build_module::<Conv2D<1, 2, 3, 1, Same>, f32>();
    // Keras layout (kh, kw, in, out): filter f at [r, c, 0, f].
    let mut w = vec![0.0f32; 3 * 3 * 2];
    for r in 0..3 {
        for c in 0..3 {
            let v = (r * 3 + c + 1) as f32;
            w[(r * 3 + c) * 2] = v;
            w[(r * 3 + c) * 2 + 1] = -v;
        }
    }
    conv.weight = dev.tensor_from_vec(w, (Const::<3>, Const::<3>, Const::<1>, Const::<2>));
    conv.bias = dev.zeros();
    conv
}

#[test]
fn filters_are_the_weights_in_keras_layout() {
    let conv = hand_conv();
    let w = inspect::filter_weights(&conv);
    assert_eq!(w.dim(), (3, 3, 1, 2));
    let f = inspect::filters(&conv, 0).unwrap();
    assert_eq!(f.len(), 2);
    assert_eq!(
        f[0],
        array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]
    );
    assert_eq!(f[1], -&f[0]);
    let err = inspect::filters(&conv, 1).unwrap_err().to_string();
    assert!(
        err.contains("1 input channel") && err.contains("channel 1"),
        "{err}"
    );
}

/// Keras' Conv2D is a cross-correlation: an image holding a single 1 (an impulse) comes out
/// as the filter rotated by 180 degrees around the impulse. Checked against
/// `tf.nn.conv2d(impulse, w, 1, "SAME")` by hand.
#[test]
fn activations_of_an_impulse_show_the_rotated_filter() {
    let conv = hand_conv();
    let mut image = Array3::<f32>::zeros((5, 5, 1));
    image[[2, 2, 0]] = 1.0;
    let maps = inspect::activations(&conv, &image).unwrap();
    assert_eq!(maps.dim(), (5, 5, 2));
    let centre = maps.slice(ndarray::s![1..4, 1..4, 0]).to_owned();
    assert_eq!(
        centre,
        array![[9.0, 8.0, 7.0], [6.0, 5.0, 4.0], [3.0, 2.0, 1.0]]
    );
    assert_eq!(maps[[0, 0, 0]], 0.0);
    assert_eq!(maps[[2, 2, 1]], -5.0);
}

#[test]
fn activations_chain_block_by_block_like_the_whole_model() {
    type Blocks = (
        (Conv2D<1, 4, 3, 1, Same, Relu>, MaxPool2D<2>),
        (Conv2D<4, 6, 3, 1, Same, Relu>, MaxPool2D<2>),
    );
    let model = Cpu::seed_from_u64(3).build_module::<Blocks, f32>();
    let image = Array3::from_shape_fn((12, 12, 1), |(r, c, _)| ((r * 12 + c) % 7) as f32 / 7.0);
    let whole = inspect::activations(&model, &image).unwrap();
    let first = inspect::activations(&model.0, &image).unwrap();
    let second = inspect::activations(&model.1, &first).unwrap();
    assert_eq!(first.dim(), (6, 6, 4));
    assert_eq!(whole.dim(), (3, 3, 6));
    assert_eq!(whole, second);
    // The tensor path gives the same numbers.
    let dev = Cpu::default();
    let x: Images<1> =
        dev.tensor_from_vec(image.iter().copied().collect(), (1, 12, 12, Const::<1>));
    assert_eq!(
        model.forward(x).as_vec(),
        whole.iter().copied().collect::<Vec<_>>()
    );
}

#[test]
fn activations_names_the_layer_an_image_is_too_small_for() {
    type Deep = (Conv2D<1, 2, 5, 1, Valid>, Conv2D<2, 2, 5, 1, Valid>);
    let model = Cpu::default().build_module::<Deep, f32>();
    let err = inspect::activations(&model, &Array3::<f32>::zeros((7, 7, 1)))
        .unwrap_err()
        .to_string();
    assert!(err.contains("conv2d_1 (Conv2D)"), "{err}");
    let err = inspect::activations(&model, &Array3::<f32>::zeros((28, 28, 2)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("2 channels") && err.contains("takes 1"),
        "{err}"
    );
}

#[test]
fn strongest_channels_ranks_by_mean() {
    let maps = Array3::from_shape_fn((4, 4, 5), |(r, _, c)| {
        [0.0, 2.0, 0.5, 3.0, 1.0][c] * r as f32
    });
    assert_eq!(inspect::strongest_channels(&maps, 3), vec![3, 1, 4]);
    assert_eq!(inspect::strongest_channels(&maps, 99).len(), 5);
}

#[test]
fn mosaic_tiles_channels_row_by_row() {
    let maps = Array3::from_shape_fn((2, 2, 3), |(r, c, k)| (k * 10 + r * 2 + c) as f32);
    let m = inspect::mosaic(&maps, 2).unwrap();
    assert_eq!(m.dim(), (5, 5));
    // Tile 0 top left, tile 1 top right, tile 2 bottom left, bottom right unused (1).
    assert_eq!(m[[0, 0]], 0.0);
    assert_eq!(m[[1, 1]], 1.0);
    assert!((m[[0, 4]] - 1.0 / 3.0).abs() < 1e-6);
    assert_eq!(m[[3, 0]], 0.0);
    assert_eq!(m[[4, 4]], 1.0);
    assert_eq!(m.row(2).iter().copied().collect::<Vec<_>>(), vec![1.0; 5]);
    // A constant (dead) feature map becomes 0, not NaN.
    let dead = inspect::mosaic(&Array3::<f32>::zeros((3, 3, 2)), 2).unwrap();
    assert!(dead.iter().all(|v| v.is_finite()));
    assert!(inspect::mosaic(&maps, 0).is_err());
}

#[test]
fn pick_and_channels_feed_image_grid() {
    let images = Array4::from_shape_fn((6, 28, 28, 1), |(i, r, _, _)| (i * r) as f32);
    let views = inspect::pick(&images, &[5, 0, 2]).unwrap();
    assert_eq!(views[0][[3, 0]], 15.0);
    let fig = cnnkit_viz::plot::image_grid(&views, &["a", "b", "c"], 3).unwrap();
    assert_eq!(fig.as_str().matches("<image").count(), 3);
    let err = inspect::pick(&images, &[6]).unwrap_err().to_string();
    assert!(
        err.contains("6 is out of range") && err.contains("6 images"),
        "{err}"
    );

    let maps = images.index_axis(Axis(0), 5).to_owned();
    assert_eq!(inspect::channels(maps.view()).len(), 1);
}

#[test]
fn show_filters_draws_every_filter_with_its_number() {
    let conv = hand_conv();
    let fig = inspect::show_filters(&conv, 0, 2).unwrap();
    let svg = fig.as_str();
    assert_eq!(svg.matches("<image").count(), 2);
    // Filter 1 is filter 0 negated: the same picture in opposite colours.
    let pngs: Vec<&str> = svg.split("base64,").skip(1).collect();
    assert_ne!(pngs[0], pngs[1]);
    assert!(svg.contains(">0</text>") && svg.contains(">1</text>"));
    assert!(inspect::show_filters(&conv, 0, 0).is_err());
    assert!(inspect::show_filters(&conv, 3, 2).is_err());
}

#[test]
fn image_of_a_data_set_feeds_activations() {
    let data = cnnkit_nn::train::toy_bars(5, 1);
    let x = inspect::image(&data, 2).unwrap();
    assert_eq!(x, data.images.index_axis(Axis(0), 2));
    let conv = Cpu::seed_from_u64(0).build_module::<Conv2D<1, 3, 3, 1, Same, Relu>, f32>();
    assert_eq!(inspect::activations(&conv, x).unwrap().dim(), (6, 6, 3));
    let err = inspect::image(&data, 5).unwrap_err().to_string();
    assert!(
        err.contains("5 is out of range") && err.contains("5 images"),
        "{err}"
    );
}
