//! # cnnkit-viz
//!
//! Everything the chapter-14 CNN notebooks show: charts as SVG, images as PNG, tables as
//! HTML, the book's figures redrawn by code, and views into a trained model (filters,
//! feature maps). Every function *returns* a value that implements [`plot::RichOutput`]:
//! the last expression of a notebook cell shows it, and it has a `save(path)` method.
//!
//! | module | what it holds |
//! |---|---|
//! | [`plot`] | charts, images, tables, [`plot::RichOutput`], one [`plot::Style`] |
//! | [`figures`] | the book's chapter-14 figures: receptive fields, padding, pooling, a CNN |
//! | [`inspect`] | a model's filters and feature maps, image mosaics |
//! | [`show`] | how `cnnkit-nn`'s results look in a notebook: `History` curves, `Summary` tables |
//! | [`error`] | the workspace's top error type (`cnnkit_viz::Error`) |
//!
//! Dependencies point one way: this crate uses `cnnkit-nn` and `cnnkit-data`, and neither
//! of them, nor the kernels, knows anything about drawing.
#![warn(missing_docs)]

pub mod error;
pub mod figures;
pub mod inspect;
pub mod plot;
pub mod show;

pub use error::{Error, Result};
