//! The crate's integration tests as one test binary: one build and one link instead of
//! one per file. Files that change process-wide state (environment variables) stay
//! binaries of their own beside this folder.

mod common;
mod detection_figures;
mod metrics_inspect;
mod plot_charts;
mod plot_figures;
mod plot_gallery;
mod plot_images;
mod plot_output;
