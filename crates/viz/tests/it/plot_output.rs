//! The displayable values: `Svg`, `Png`, `Html` — evcxr output format, saving, parsing.

use base64::Engine as _;
use cnnkit_data::Error as DataError;
use cnnkit_nn::Error as NnError;
use cnnkit_viz::plot::{self, Html, Png, RichOutput, Svg};
use cnnkit_viz::Error;

/// A fresh, empty folder under the system temp dir for one test.
fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cnnkit_plot_tests_{}_{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Splits evcxr output into `(mime, content)` blocks, checking the markers line by line.
fn blocks(out: &str) -> Vec<(String, String)> {
    let mut res = Vec::new();
    let mut lines = out.lines();
    while let Some(line) = lines.next() {
        let mime = line
            .strip_prefix("EVCXR_BEGIN_CONTENT ")
            .unwrap_or_else(|| panic!("expected a begin marker, got {line:?}"));
        let mut content = Vec::new();
        loop {
            let l = lines.next().expect("missing EVCXR_END_CONTENT");
            if l == "EVCXR_END_CONTENT" {
                break;
            }
            content.push(l);
        }
        res.push((mime.to_string(), content.join("\n")));
    }
    res
}

#[test]
fn svg_evcxr_output_is_one_html_block_with_the_svg_and_a_text_fallback() {
    let fig = plot::function(|x| x * x, -1.0..1.0, "제곱 함수").unwrap();
    let out = fig.evcxr_content();
    assert!(out.ends_with("EVCXR_END_CONTENT\n"));
    let b = blocks(&out);
    assert_eq!(b.len(), 2);
    assert_eq!(b[0].0, "text/html");
    assert!(b[0].1.starts_with("<div"));
    assert!(b[0].1.contains(fig.as_str().trim_end()));
    assert!(b[0].1.contains("제곱 함수"));
    assert_eq!(
        b[1],
        ("text/plain".to_string(), "<SVG figure 640×400>".to_string())
    );
}

#[test]
fn png_evcxr_output_is_base64_of_the_png_bytes() {
    let png = Png::from_gray(&image::GrayImage::from_pixel(3, 2, image::Luma([77]))).unwrap();
    let b = blocks(&png.evcxr_content());
    assert_eq!(b[0].0, "image/png");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&b[0].1)
        .unwrap();
    assert_eq!(bytes, png.bytes());
    assert_eq!(b[1].1, "<PNG image 3×2>");
}

#[test]
fn html_evcxr_output_has_html_and_text() {
    let t = plot::table(&["a", "b"], &[vec![1, 2]]);
    let b = blocks(&t.evcxr_content());
    assert_eq!(b[0].0, "text/html");
    assert!(b[0].1.starts_with("<table"));
    assert_eq!(b[1].0, "text/plain");
    assert_eq!(b[1].1, t.text());
}

#[test]
fn svg_save_creates_folders_adds_the_extension_and_writes_the_markup() {
    let dir = temp_dir("svg_save");
    let fig = plot::function(|x| x, 0.0..1.0, "").unwrap();
    let path = fig.save(dir.join("a/b/fig")).unwrap();
    assert_eq!(path, dir.join("a/b/fig.svg"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), fig.as_str());
    // An explicit .svg (any case) is kept.
    let path = fig.save(dir.join("upper.SVG")).unwrap();
    assert_eq!(path, dir.join("upper.SVG"));
    assert!(path.exists());
}

#[test]
fn saving_with_the_wrong_extension_is_an_error_that_names_the_right_one() {
    let dir = temp_dir("wrong_ext");
    let fig = plot::function(|x| x, 0.0..1.0, "").unwrap();
    let err = fig.save(dir.join("fig.png")).unwrap_err();
    assert!(matches!(err, Error::Nn(NnError::Invalid { .. })), "{err:?}");
    assert!(err.to_string().contains(".svg"), "{err}");
    assert!(!dir.join("fig.png").exists());
    let png = Png::from_gray(&image::GrayImage::new(1, 1)).unwrap();
    assert!(png
        .save(dir.join("x.svg"))
        .unwrap_err()
        .to_string()
        .contains(".png"));
}

#[test]
fn png_save_writes_a_decodable_png() {
    let dir = temp_dir("png_save");
    let img = image::RgbImage::from_fn(4, 3, |x, y| image::Rgb([x as u8 * 60, y as u8 * 100, 7]));
    let png = Png::from_rgb(&img).unwrap();
    let path = png.save(dir.join("sub/pixels")).unwrap();
    assert!(path.ends_with("sub/pixels.png"));
    let back = image::open(&path).unwrap().to_rgb8();
    assert_eq!(back, img);
}

#[test]
fn html_save_writes_a_utf8_page() {
    let dir = temp_dir("html_save");
    let path = Html::new("<p>모델 요약</p>", "모델 요약")
        .save(dir.join("summary"))
        .unwrap();
    let page = std::fs::read_to_string(path).unwrap();
    assert!(page.contains("<meta charset=\"utf-8\">") && page.contains("<p>모델 요약</p>"));
}

#[test]
fn save_reports_the_path_when_the_folder_cannot_be_created() {
    let dir = temp_dir("blocked");
    std::fs::create_dir_all(&dir).unwrap();
    // A file where a folder should be.
    std::fs::write(dir.join("file"), b"x").unwrap();
    let fig = plot::function(|x| x, 0.0..1.0, "").unwrap();
    let err = fig.save(dir.join("file/inner/fig.svg")).unwrap_err();
    assert!(
        matches!(err, Error::Nn(NnError::Data(DataError::Io { .. }))),
        "{err:?}"
    );
    assert!(err.to_string().contains("file"), "{err}");
}

#[test]
fn svg_new_reads_the_size_from_attributes_or_the_view_box() {
    let a =
        Svg::new(r#"<svg xmlns="http://www.w3.org/2000/svg" width="300" height="150"><g/></svg>"#)
            .unwrap();
    assert_eq!((a.width(), a.height()), (300, 150));
    let b = Svg::new(r#"<?xml version="1.0"?><svg viewBox="0 0 40 20" xmlns="http://www.w3.org/2000/svg"></svg>"#).unwrap();
    assert_eq!((b.width(), b.height()), (40, 20));
    assert!(matches!(Svg::new("<svg></svg>"), Err(Error::Plot(_))));
    assert!(matches!(Svg::new("hello"), Err(Error::Plot(_))));
}

#[test]
fn svg_draw_turns_drawing_errors_into_plot_errors_instead_of_panicking() {
    let err = Svg::draw((50, 50), |_root| Err("the brush broke".into())).unwrap_err();
    match err {
        Error::Plot(m) => assert!(m.contains("the brush broke")),
        other => panic!("expected Error::Plot, got {other:?}"),
    }
}

#[test]
fn png_from_bytes_checks_the_header_and_reads_the_size() {
    let png = Png::from_rgb(&image::RgbImage::new(9, 4)).unwrap();
    let again = Png::from_bytes(png.bytes().to_vec()).unwrap();
    assert_eq!((again.width(), again.height()), (9, 4));
    assert!(matches!(
        Png::from_bytes(vec![0; 20]),
        Err(Error::Nn(NnError::Data(DataError::Image { .. })))
    ));
}

#[test]
fn debug_output_is_short() {
    let fig = plot::function(|x| x, 0.0..1.0, "").unwrap();
    let dbg = format!("{fig:?}");
    assert!(
        dbg.starts_with("Svg { width: 640, height: 400, bytes: "),
        "{dbg}"
    );
    assert!(dbg.len() < 80);
}
