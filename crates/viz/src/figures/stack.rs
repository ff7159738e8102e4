//! Filters turn one image into a stack of feature maps (the book's figures 14-8 and 14-9).

use ndarray::ArrayView2;

use crate::error::{Error, Result};
use crate::plot::{colorize, text_width, upscale, Canvas, ImageOptions, Paint, Png, Svg};

use super::grid::{caption, title, INK, LINE};

/// A PNG of `img` (colour-mapped with `opts`) and its display size inside a `box_size`
/// square, keeping the aspect ratio.
fn picture(
    img: &ArrayView2<'_, f32>,
    opts: &ImageOptions,
    box_size: f64,
) -> Result<(Png, f64, f64)> {
    let (h, w) = img.dim();
    if h == 0 || w == 0 {
        return Err(Error::invalid(
            "image",
            "an image in feature_map_stack has no pixels",
        ));
    }
    let rgb = upscale(&colorize(img, opts), box_size as u32);
    let scale = box_size / h.max(w) as f64;
    Ok((Png::from_rgb(&rgb)?, w as f64 * scale, h as f64 * scale))
}

/// How filters produce feature maps: the input image on the left, then one row per
/// filter — the filter (blue negative, white zero, red positive) and the feature map it
/// produces (grey, auto-scaled) — and on the right all maps stacked into the layer's
/// output volume `H × W × n`.
///
/// * `filters` may be empty (then only image → maps is drawn); otherwise one per map.
/// * `names`: a title per row (e.g. `"세로선 필터"`), or empty for `필터 1`, `필터 2`, ….
///
/// # Shapes
/// `input`: `(H, W)`; each filter `(k, k)`; each map `(H', W')`.
///
/// Lecture: 합성곱 층, "필터" and "특성지도" (book figures 14-8, 14-9).
///
/// ```
/// use ndarray::Array2;
/// let image = Array2::from_shape_fn((28, 28), |(r, c)| ((r / 4 + c / 4) % 2) as f32);
/// let mut vertical = Array2::<f32>::zeros((7, 7));
/// vertical.column_mut(3).fill(1.0);
/// let horizontal = vertical.t().to_owned();
/// let maps = [image.clone(), image.t().to_owned()]; // stand-ins for the conv outputs
/// let fig = cnnkit_viz::figures::feature_map_stack(
///     image.view(),
///     &[vertical.view(), horizontal.view()],
///     &[maps[0].view(), maps[1].view()],
///     &["세로선 필터", "가로선 필터"],
/// )?;
/// let svg = fig.as_str();
/// assert_eq!(svg.matches("<image").count(), 1 + 2 + 2 + 2); // input, filters, maps, stack
/// assert!(svg.contains("세로선 필터") && svg.contains("28×28×2"));
/// # Ok::<(), cnnkit_viz::Error>(())
/// ```
pub fn feature_map_stack<S: AsRef<str>>(
    input: ArrayView2<'_, f32>,
    filters: &[ArrayView2<'_, f32>],
    maps: &[ArrayView2<'_, f32>],
    names: &[S],
) -> Result<Svg> {
    let n = maps.len();
    if n == 0 {
        return Err(Error::invalid("maps", "give at least one feature map"));
    }
    for (what, given) in [("filter", filters.len()), ("name", names.len())] {
        if given != 0 && given != n {
            return Err(Error::invalid(
                format!("{what}s"),
                format!("{given} {what}s but {n} feature maps: give one {what} per map, or none"),
            ));
        }
    }
    let (mh, mw) = maps[0].dim();
    if let Some(m) = maps.iter().find(|m| m.dim() != (mh, mw)) {
        return Err(Error::invalid(
            "maps",
            format!(
                "feature maps differ in size ({mh}×{mw} and {}×{}); \
                 one layer's maps are all the same size",
                m.nrows(),
                m.ncols()
            ),
        ));
    }
    let row_name = |i: usize| {
        names
            .get(i)
            .map(|s| s.as_ref().to_string())
            .unwrap_or_else(|| format!("필터 {}", i + 1))
    };

    const IN: f64 = 150.0; // input box
    const FB: f64 = 52.0; // filter box
    const MB: f64 = 96.0; // feature-map box
    let cap = 12.0;
    let margin = 16.0;
    let row_h = MB + cap + 18.0;
    let top = margin + cap + 18.0;
    let rows_h = row_h * n as f64;
    let name_w = (0..n)
        .map(|i| text_width(&row_name(i), cap))
        .fold(0.0, f64::max);
    let x_in = margin;
    let x_f = x_in + IN + 60.0;
    let has_filters = !filters.is_empty();
    let filter_col = if has_filters { FB.max(name_w) } else { 0.0 };
    let x_m = if has_filters {
        x_f + filter_col + 46.0
    } else {
        x_f
    };
    // The stack: each map sheared like a page seen at an angle, pages offset diagonally.
    const A: f64 = 0.55; // horizontal squeeze
    const B: f64 = -0.32; // rise per unit of width

    // Offset between pages: right and up, so that the top and right edge of every page
    // behind the front one stay visible.
    let step = if n > 1 {
        (72.0 / (n - 1) as f64).clamp(5.0, 24.0)
    } else {
        0.0
    };
    let x_s = x_m + MB + 70.0;
    let deck_w = MB * A + step * (n - 1) as f64;
    let stack_caption = format!("특성지도 {n}개를 쌓은\n층의 출력 {mh}×{mw}×{n}");
    let stack_text_w = stack_caption
        .lines()
        .map(|l| text_width(l, cap))
        .fold(0.0, f64::max);
    let width = x_s + deck_w.max(stack_text_w) + margin + 10.0;
    let height = top + rows_h.max(IN + 40.0) + margin;
    let mut c = Canvas::new(width, height);
    title(
        &mut c,
        margin,
        cap,
        "필터마다 특성지도 하나: 합성곱 층의 출력은 특성지도를 쌓은 것",
    );

    let body_mid = top + rows_h.max(IN + 40.0) / 2.0;
    // Input image.
    let (png, iw, ih) = picture(&input, &ImageOptions::default(), IN)?;
    let (ix, iy) = (x_in + (IN - iw) / 2.0, body_mid - ih / 2.0);
    c.image(ix, iy, iw, ih, &png);
    c.rect(ix, iy, iw, ih, &Paint::outline(LINE, 1.0));
    caption(&mut c, x_in + IN / 2.0, iy - cap, "입력 이미지", cap);

    let map_opts = ImageOptions::default();
    for i in 0..n {
        let y0 = top + row_h * i as f64;
        let row_mid = y0 + cap + 6.0 + MB / 2.0;
        let target_x;
        if has_filters {
            let (fpng, fw, fh) = picture(&filters[i], &ImageOptions::filter(), FB)?;
            let fx = x_f + (filter_col - fw) / 2.0;
            c.image(fx, row_mid - fh / 2.0, fw, fh, &fpng);
            c.rect(fx, row_mid - fh / 2.0, fw, fh, &Paint::outline(LINE, 1.0));
            caption(
                &mut c,
                x_f + filter_col / 2.0,
                row_mid - FB / 2.0 - cap,
                &row_name(i),
                cap,
            );
            c.arrow(x_in + IN + 6.0, body_mid, fx - 6.0, row_mid, INK, 1.2);
            c.arrow(
                x_f + filter_col + 6.0,
                row_mid,
                x_m - 6.0,
                row_mid,
                INK,
                1.2,
            );
            target_x = x_m;
        } else {
            target_x = x_m;
            c.arrow(x_in + IN + 6.0, body_mid, x_m - 6.0, row_mid, INK, 1.2);
        }
        let (mpng, mwid, mhei) = picture(&maps[i], &map_opts, MB)?;
        let mx = target_x + (MB - mwid) / 2.0;
        c.image(mx, row_mid - mhei / 2.0, mwid, mhei, &mpng);
        c.rect(
            mx,
            row_mid - mhei / 2.0,
            mwid,
            mhei,
            &Paint::outline(LINE, 1.0),
        );
        let label = if has_filters {
            format!("특성지도 {}", i + 1)
        } else {
            format!("{}: 특성지도 {}", row_name(i), i + 1)
        };
        caption(
            &mut c,
            target_x + MB / 2.0,
            row_mid + MB / 2.0 + cap,
            &label,
            cap,
        );
    }

    // The stack, back pages first. Page i's top-left corner is shifted right and up.
    let deck_h = MB + (-B) * MB + step * 0.8 * (n - 1) as f64;
    let base_y = body_mid - deck_h / 2.0 + (-B) * MB + step * 0.8 * (n - 1) as f64;
    for i in (0..n).rev() {
        let (png, w, h) = picture(&maps[i], &map_opts, MB)?;
        let (px, py) = (x_s + step * i as f64, base_y - step * 0.8 * i as f64);
        let tr = format!("matrix({A} {B} 0 1 0 0)");
        c.image_transformed(px, py, w, h, &png, &tr);
        let corners =
            [(0.0, 0.0), (w, 0.0), (w, h), (0.0, h)].map(|(u, v)| (px + A * u, py + B * u + v));
        c.polygon(&corners, &Paint::outline(INK, 1.0));
    }
    c.arrow(x_m + MB + 10.0, body_mid, x_s - 10.0, body_mid, INK, 1.5);
    caption(
        &mut c,
        x_s + deck_w / 2.0,
        base_y + MB + 16.0,
        &stack_caption,
        cap,
    );
    Ok(c.finish())
}
