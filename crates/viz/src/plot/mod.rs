//! Plotting for the notebooks: charts as SVG, images as PNG, tables as HTML.
//!
//! One place for figure defaults ([`Style`]: size, palette, font sizes) and one way to show
//! and save a figure: every function *returns* a value — [`Svg`], [`Png`] or [`Html`] —
//! that a notebook cell shows when it is the cell's last expression (through
//! [`RichOutput`]), and that has a `save(path)` method (handson-ml3's `save_fig`).
//! A cell shows only one rich output, so helpers never print figures themselves.
//!
//! | what | functions | result |
//! |---|---|---|
//! | learning curves, lines, functions, scatter | [`learning_curves`], [`line_chart`], [`line()`], [`function`], [`scatter`] | [`Svg`] |
//! | bars (parameters per layer) | [`bar_chart`] | [`Svg`] |
//! | confusion matrix, heatmap | [`confusion_matrix`], [`heatmap`] | [`Svg`] |
//! | one image, a filter | [`show_gray`], [`show_filter`], [`show_rgb`], [`show_rgb_array`] | [`Png`] |
//! | images with titles, feature maps | [`image_grid`], [`image_grid_rgb`], [`feature_maps`] | [`Svg`] |
//! | image mosaic without titles | [`image_grid_png`] | [`Png`] |
//! | tables (model summary) | [`table()`] | [`Html`] |
//! | your own plotters drawing | [`Svg::draw`] | [`Svg`] |
//! | your own diagram | [`Canvas`] | [`Svg`] |
//!
//! Text in SVG figures stays text, drawn by the browser, so Korean titles and labels need
//! no font files. PNG images carry no text.
//!
//! The diagrams that redraw the book's figures are in [`crate::figures`].
//!
//! ```
//! use cnnkit_viz::plot;
//! let loss = vec![0.52_f32, 0.35, 0.31];
//! let val_loss = vec![0.40_f32, 0.33, 0.32];
//! let fig = plot::learning_curves(&[("loss", &loss[..]), ("val_loss", &val_loss[..])], "에포크")?;
//! let path = fig.save(std::env::temp_dir().join("cnnkit_doc_plot/learning_curves.svg"))?;
//! assert!(path.exists());
//! # Ok::<(), cnnkit_viz::Error>(())
//! ```

pub mod canvas;
pub mod charts;
pub mod images;
pub mod output;
pub mod style;
pub mod table;

pub use canvas::{escape, fmt_num, fmt_thousands, text_width, Anchor, Canvas, Paint, TextStyle};
pub use charts::{
    bar_chart, confusion_matrix, function, heatmap, learning_curves, line, line_chart, matrix,
    scatter, Number,
};
pub use images::{
    colorize, feature_maps, image_grid, image_grid_png, image_grid_rgb, image_grid_with,
    rgb_from_array, show_filter, show_gray, show_gray_with, show_rgb, show_rgb_array, upscale,
    ColorMap, ImageOptions, ValueRange, GRID_CELL, IMAGE_SIZE,
};
pub use output::{Html, Png, RichOutput, Svg};
pub use style::{Rgb, Style, FONT_FAMILY, PALETTE};
pub use table::table;

/// plotters itself (0.3, SVG backend), for drawing your own charts with [`Svg::draw`]
/// without another `:dep` line.
pub use plotters;
