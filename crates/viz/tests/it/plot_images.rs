//! Images: colour maps, scaling, PNG round trips, grids with titles.

use cnnkit_nn::Error as NnError;
use cnnkit_viz::plot::{self, ColorMap, ImageOptions, ValueRange};
use cnnkit_viz::Error;
use ndarray::{array, Array2, Array3};

#[test]
fn show_gray_auto_scales_min_to_black_and_max_to_white() {
    let x = array![[2.0_f32, 3.0, 4.0]];
    let png = plot::show_gray_with(&x, &ImageOptions::new().size(30)).unwrap();
    let img = png.to_rgb_image().unwrap();
    assert_eq!(img.dimensions(), (30, 10)); // factor 10
    assert_eq!(img.get_pixel(0, 0).0, [0, 0, 0]);
    assert_eq!(img.get_pixel(15, 5).0, [128, 128, 128]);
    assert_eq!(img.get_pixel(29, 9).0, [255, 255, 255]);
}

#[test]
fn unit_range_does_not_rescale() {
    let x = array![[0.0_f32, 0.5]];
    let img = plot::show_gray_with(&x, &ImageOptions::unit().size(2))
        .unwrap()
        .to_rgb_image()
        .unwrap();
    assert_eq!(img.get_pixel(1, 0).0, [128, 128, 128]); // not stretched to white
}

#[test]
fn default_size_enlarges_fashion_mnist_by_a_whole_factor() {
    let x = Array2::<f32>::from_shape_fn((28, 28), |(r, c)| ((r + c) % 2) as f32);
    let img = plot::show_gray(&x).unwrap().to_rgb_image().unwrap();
    assert_eq!(img.dimensions(), (224, 224));
    // Nearest neighbour: the 8×8 block of pixel (0, 1) is uniform.
    let p = img.get_pixel(8, 0).0;
    for dy in 0..8 {
        for dx in 0..8 {
            assert_eq!(img.get_pixel(8 + dx, dy).0, p);
        }
    }
    assert_ne!(img.get_pixel(7, 0).0, p);
}

#[test]
fn filters_use_a_diverging_map_with_white_zero() {
    let k = array![[-2.0_f32, 0.0, 1.0]];
    let img = plot::show_filter(&k).unwrap().to_rgb_image().unwrap();
    let (w, _) = img.dimensions();
    let third = w / 3;
    assert_eq!(img.get_pixel(0, 0).0, [33, 102, 172]); // -2 is the most negative: full blue
    assert_eq!(img.get_pixel(third + 1, 0).0, [255, 255, 255]); // 0: white

    // +1 is half of the symmetric range (-2..2): between white and full red.
    let red = img.get_pixel(w - 1, 0).0;
    assert!(
        red[0] > red[2] && red != [178, 24, 43] && red != [255, 255, 255],
        "{red:?}"
    );
}

#[test]
fn colour_maps_have_the_documented_ends() {
    assert_eq!(ColorMap::Viridis.color(0.0), plot::Rgb(68, 1, 84));
    assert_eq!(ColorMap::Viridis.color(1.0), plot::Rgb(253, 231, 37));
    assert_eq!(ColorMap::Blues.color(1.0), plot::Rgb(8, 48, 107));
    assert_eq!(ColorMap::Binary.color(1.0), plot::Rgb::BLACK);
    assert_eq!(
        ValueRange::Symmetric.resolve([0.0_f32, 0.0].into_iter()),
        (0.0, 1.0)
    );
    assert_eq!(
        ValueRange::Auto.resolve([f32::NAN, 1.0, 3.0].into_iter()),
        (1.0, 3.0)
    );
}

#[test]
fn nan_pixels_are_magenta() {
    let x = array![[0.0_f32, f32::NAN]];
    let img = plot::colorize(&x, &ImageOptions::unit());
    assert_eq!(img.get_pixel(1, 0).0, [255, 0, 255]);
}

#[test]
fn rgb_arrays_round_trip_through_png() {
    let x = Array3::<f32>::from_shape_fn((2, 2, 3), |(r, c, ch)| [0.0, 0.5, 1.0][(r + c + ch) % 3]);
    let png = plot::show_rgb_array(&x).unwrap();
    let img = png.to_rgb_image().unwrap();
    assert_eq!(img.dimensions(), (224, 224)); // factor 112
    assert_eq!(img.get_pixel(0, 0).0, [0, 128, 255]);
    assert_eq!(img.get_pixel(223, 0).0, [128, 255, 0]);
}

#[test]
fn rgb_arrays_with_channels_first_are_rejected_with_a_hint() {
    let x = Array3::<f32>::zeros((3, 8, 8));
    let err = plot::show_rgb_array(&x).unwrap_err();
    assert!(err.to_string().contains("permuted_axes"), "{err}");
}

#[test]
fn large_colour_images_are_not_enlarged() {
    let img = image::RgbImage::new(300, 200);
    let png = plot::show_rgb(&img).unwrap();
    assert_eq!((png.width(), png.height()), (300, 200));
}

#[test]
fn image_grid_has_one_image_and_title_per_item() {
    let imgs: Vec<Array2<f32>> = (0..7)
        .map(|i| Array2::from_elem((28, 28), i as f32))
        .collect();
    let views: Vec<_> = imgs.iter().map(|a| a.view()).collect();
    let titles: Vec<String> = (0..7).map(|i| format!("클래스 {i}")).collect();
    let fig = plot::image_grid(&views, &titles, 3).unwrap();
    let svg = fig.as_str();
    assert_eq!(svg.matches("<image").count(), 7);
    for t in &titles {
        assert!(svg.contains(&format!(">{t}</text>")), "{t}");
    }
    // 3 columns of 96-pixel cells and 3 rows.
    assert!(
        fig.width() >= 3 * 96 && fig.width() < 4 * 96,
        "{}",
        fig.width()
    );
    assert!(fig.height() >= 3 * 96);
}

#[test]
fn image_grid_titles_can_have_two_lines_and_are_escaped() {
    let a = Array2::<f32>::zeros((4, 4));
    let fig = plot::image_grid(&[a.view()], &["예측: <Coat>\n정답: Shirt"], 1).unwrap();
    assert!(fig.as_str().contains(">예측: &lt;Coat&gt;</text>"));
    assert!(fig.as_str().contains(">정답: Shirt</text>"));
}

#[test]
fn image_grid_rejects_wrong_title_counts_and_zero_columns() {
    let a = Array2::<f32>::zeros((4, 4));
    let err = plot::image_grid(&[a.view(), a.view()], &["only one"], 2).unwrap_err();
    assert!(matches!(err, Error::Nn(NnError::Invalid { .. })));
    assert!(err.to_string().contains("2 images but 1 titles"), "{err}");
    assert!(plot::image_grid(&[a.view()], &[] as &[&str], 0).is_err());
    assert!(plot::image_grid(&[], &[] as &[&str], 2).is_err());
}

#[test]
fn image_grid_embeds_enlarged_pngs() {
    let a = Array2::<f32>::zeros((28, 28));
    let fig = plot::image_grid(&[a.view()], &["x"], 1).unwrap();
    // The embedded PNG is 28 × 3 = 84 pixels, shown at 84 pixels.
    assert!(
        fig.as_str().contains("width=\"84\" height=\"84\""),
        "{}",
        &fig.as_str()[..400]
    );
}

#[test]
fn image_grid_png_places_tiles_with_white_gaps() {
    let black = Array2::<f32>::zeros((2, 2));
    let ramp = array![[0.0_f32, 1.0], [0.0, 1.0]];
    let png = plot::image_grid_png(&[black.view(), ramp.view()], 2).unwrap();
    let img = png.to_rgb_image().unwrap();
    // Tiles of 2 × 48 = 96 pixels, 2-pixel gaps: width 2 + 96 + 2 + 96 + 2.
    assert_eq!(img.dimensions(), (198, 100));
    assert_eq!(img.get_pixel(0, 0).0, [255, 255, 255]); // gap
    assert_eq!(img.get_pixel(2, 2).0, [0, 0, 0]); // constant image: its minimum, black
    assert_eq!(img.get_pixel(100, 50).0, [0, 0, 0]); // ramp, left half
    assert_eq!(img.get_pixel(197 - 2, 50).0, [255, 255, 255]); // ramp, right half
    let err =
        plot::image_grid_png(&[black.view(), Array2::<f32>::zeros((3, 3)).view()], 2).unwrap_err();
    assert!(err.to_string().contains("equal sizes"), "{err}");
}

#[test]
fn feature_maps_draws_one_titled_tile_per_channel() {
    let maps = Array3::<f32>::from_shape_fn((5, 5, 10), |(r, c, k)| (r + c * k) as f32);
    let fig = plot::feature_maps(&maps, 5).unwrap();
    assert_eq!(fig.as_str().matches("<image").count(), 10);
    assert!(fig.as_str().contains(">9</text>"));
    assert!(plot::feature_maps(&Array3::<f32>::zeros((5, 5, 0)), 2).is_err());
}
