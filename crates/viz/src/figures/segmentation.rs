//! Semantic segmentation: masks in a fixed colour per class, beside the images they label
//! (notebook 10).

use image::RgbImage;
use ndarray::ArrayView2;

use crate::error::{Error, Result};
use crate::plot::{
    colorize, text_width, upscale, Canvas, ImageOptions, Paint, Png, Rgb, Svg, TextStyle, PALETTE,
};

/// The colour of background pixels (mask value 0) in [`mask_rgb`] and [`segmentation`].
pub const BACKGROUND: Rgb = Rgb(0, 0, 0);

/// The colour of mask value `v`: [`BACKGROUND`] for 0, then the palette (`tab10`) for
/// `1 + class`, so class `c` always has colour `PALETTE[c]`; values above 10 are white.
///
/// ```
/// use cnnkit_viz::figures::{mask_color, BACKGROUND};
/// use cnnkit_viz::plot::{Rgb, PALETTE};
/// assert_eq!(mask_color(0), BACKGROUND);
/// assert_eq!(mask_color(1), PALETTE[0]); // class 0, T-shirt/top
/// assert_eq!(mask_color(200), Rgb::WHITE);
/// ```
pub fn mask_color(v: u8) -> Rgb {
    match v {
        0 => BACKGROUND,
        v => PALETTE.get(v as usize - 1).copied().unwrap_or(Rgb::WHITE),
    }
}

/// A mask (`0` background, `1 + class`) as a colour image, one pixel per mask pixel, in
/// the colours of [`mask_color`].
///
/// # Shapes
/// `mask`: `(H, W)`; the image is `W` wide and `H` high.
///
/// ```
/// let mask = ndarray::array![[0u8, 1], [3, 0]];
/// let img = cnnkit_viz::figures::mask_rgb(mask.view());
/// assert_eq!(img.dimensions(), (2, 2));
/// assert_eq!(img.get_pixel(0, 1).0, [44, 160, 44]); // class 2 in tab10's green
/// ```
pub fn mask_rgb(mask: ArrayView2<'_, u8>) -> RgbImage {
    let (h, w) = mask.dim();
    RgbImage::from_fn(w as u32, h as u32, |x, y| {
        let Rgb(r, g, b) = mask_color(mask[[y as usize, x as usize]]);
        image::Rgb([r, g, b])
    })
}

const CELL: u32 = 128;
const GAP: f64 = 8.0;
const HEADER: f64 = 22.0;
const FONT: f64 = 13.0;
const SWATCH: f64 = 12.0;

/// Images and their masks side by side, one row per image: the image in grey (values
/// `0..=1`), then one column per mask set (for example the true masks and a model's
/// predictions), each in a fixed colour per class ([`mask_color`]), with the column
/// titles above and a legend below that names the background and every class in
/// `class_names` (`class_names[c]` for mask value `1 + c`).
///
/// # Shapes
/// `images[i]`: `(H, W)`; `masks[j][i]`: the same `(H, W)` for every column `j`.
///
/// ```
/// use ndarray::Array2;
/// let image = Array2::<f32>::zeros((8, 8));
/// let mut truth = Array2::<u8>::zeros((8, 8));
/// truth[[2, 3]] = 2;
/// let predicted = Array2::<u8>::zeros((8, 8));
/// let fig = cnnkit_viz::figures::segmentation(
///     &[image.view()],
///     &[vec![truth.view()], vec![predicted.view()]],
///     &["입력", "정답 마스크", "예측 마스크"],
///     &["티셔츠/탑", "바지"],
/// )?;
/// assert_eq!(fig.as_str().matches("<image").count(), 3);
/// assert!(fig.as_str().contains(">배경</text>") && fig.as_str().contains(">바지</text>"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
///
/// # Errors
/// No images; a mask column without one mask per image; a mask or title count that does
/// not match; a mask whose size differs from its image's.
pub fn segmentation<S: AsRef<str>, T: AsRef<str>>(
    images: &[ArrayView2<'_, f32>],
    masks: &[Vec<ArrayView2<'_, u8>>],
    titles: &[S],
    class_names: &[T],
) -> Result<Svg> {
    if images.is_empty() {
        return Err(Error::invalid("images", "the list of images is empty"));
    }
    if titles.len() != masks.len() + 1 {
        return Err(Error::invalid(
            "titles",
            format!(
                "{} titles for {} columns: give one for the images and one per mask column",
                titles.len(),
                masks.len() + 1
            ),
        ));
    }
    for (j, column) in masks.iter().enumerate() {
        if column.len() != images.len() {
            return Err(Error::invalid(
                "masks",
                format!(
                    "mask column {j} has {} masks for {} images: give one mask per image",
                    column.len(),
                    images.len()
                ),
            ));
        }
        for (i, m) in column.iter().enumerate() {
            if m.dim() != images[i].dim() {
                return Err(Error::invalid(
                    "masks",
                    format!(
                        "mask {i} of column {j} is {:?} but its image is {:?}",
                        m.dim(),
                        images[i].dim()
                    ),
                ));
            }
        }
    }
    let cols = masks.len() + 1;
    let cell = CELL as f64;
    let legend: Vec<(Rgb, String)> = std::iter::once((BACKGROUND, "배경".to_string()))
        .chain(
            class_names
                .iter()
                .enumerate()
                .map(|(c, n)| (mask_color(c as u8 + 1), n.as_ref().to_string())),
        )
        .collect();
    let width = GAP + (cell + GAP) * cols as f64;
    // The legend wraps into lines no wider than the figure.
    let mut lines: Vec<Vec<(f64, usize)>> = vec![vec![]];
    let mut x = GAP;
    for (k, (_, name)) in legend.iter().enumerate() {
        let w = SWATCH + 4.0 + text_width(name, FONT) + 12.0;
        if x + w > width && x > GAP {
            lines.push(vec![]);
            x = GAP;
        }
        if let Some(line) = lines.last_mut() {
            line.push((x, k));
        }
        x += w;
    }
    let rows_h = (cell + GAP) * images.len() as f64;
    let height = HEADER + rows_h + GAP + 20.0 * lines.len() as f64;
    let mut canvas = Canvas::new(width, height);
    let text = TextStyle::new(FONT).middle();
    for (j, t) in titles.iter().enumerate() {
        let cx = GAP + (cell + GAP) * j as f64 + cell / 2.0;
        canvas.text(cx, HEADER / 2.0 + 2.0, t.as_ref(), &text);
    }
    for (i, img) in images.iter().enumerate() {
        let y = HEADER + (cell + GAP) * i as f64;
        let mut put = |j: usize, rgb: RgbImage| -> Result<()> {
            let x = GAP + (cell + GAP) * j as f64;
            let big = upscale(&rgb, CELL);
            let scale = cell / big.width().max(big.height()).max(1) as f64;
            let (dw, dh) = (big.width() as f64 * scale, big.height() as f64 * scale);
            canvas.image(x, y, dw, dh, &Png::from_rgb(&big)?);
            Ok(())
        };
        put(0, colorize(img, &ImageOptions::unit()))?;
        for (j, column) in masks.iter().enumerate() {
            put(j + 1, mask_rgb(column[i]))?;
        }
    }
    let left = TextStyle::new(FONT);
    for (l, line) in lines.iter().enumerate() {
        let y = HEADER + rows_h + GAP + 20.0 * l as f64;
        for &(x, k) in line {
            let (color, name) = &legend[k];
            canvas.rect(
                x,
                y,
                SWATCH,
                SWATCH,
                &Paint::fill(*color).stroke(Rgb(120, 120, 120), 0.5),
            );
            canvas.text(x + SWATCH + 4.0, y + SWATCH / 2.0, name, &left);
        }
    }
    Ok(canvas.finish())
}
