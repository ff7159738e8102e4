//! The book's chapter-14 figures, redrawn by our code as SVG diagrams.
//!
//! The lecture borrows figures 14-1 … 14-12 from the book; these functions draw the same
//! ideas from numbers that a notebook can change (another kernel size, another stride,
//! other values in the cells), so that a figure becomes an experiment.
//!
//! | book figure | idea | function |
//! |---|---|---|
//! | 14-2, 14-5 | local receptive fields growing through layers | [`receptive_field`] |
//! | 14-6, 14-7 | zero padding; stride 2 shrinks the output | [`padding_grid`] |
//! | 14-8, 14-9 | filters produce a stack of feature maps | [`feature_map_stack`] |
//! | 14-10 | max pooling with numbers | [`pooling_grid`] |
//! | 14-11 | invariance to small shifts | [`pooling_invariance`] |
//! | 14-12 | depthwise max pooling | [`depthwise_pooling_diagram`] |
//! | 14-3, 14-9 | a typical CNN | [`cnn_architecture`], [`LECTURE_CNN`] |
//! | GoogLeNet | the inception module | [`inception_module`] |
//! | ResNet | a residual unit and its skip connection | [`residual_unit`] |
//! | ResNet | ResNet-34's layers | [`resnet34_stack`] |
//! | Xception | depthwise separable convolution | [`depthwise_separable`] |
//! | SENet | squeeze-and-excitation block | [`se_block`] |
//! | AlexNet | data augmentation: an image and random versions of it | [`augmented`] |
//! | 14-24, 14-25 | localization and detection: canvases with true and predicted boxes | [`detection_boxes`], [`canvas_boxes`] |
//! | semantic segmentation | images beside true and predicted masks, a colour per class | [`segmentation`], [`mask_rgb`] |
//!
//! Every function returns an [`Svg`](crate::plot::Svg): the last expression of a notebook
//! cell shows it, `.save("figures/x.svg")` writes it. The geometry (output sizes, Keras'
//! `same` padding) comes from [`cnnkit_nn::arith`], the same code the layers use.
//!
//! ```
//! use cnnkit_nn::arith::{Padding, Window};
//! let fig = cnnkit_viz::figures::padding_grid(5, 7, 3, 1, Padding::Same, (0, 0))?;
//! assert!(fig.as_str().starts_with("<svg"));
//! let fig = cnnkit_viz::figures::receptive_field((9, 9), &[Window::new(3, 1); 3], (0, 0))?;
//! assert!(fig.as_str().contains("수용장 7×7"));
//! # Ok::<(), cnnkit_viz::Error>(())
//! ```

mod architecture;
mod augment;
mod blocks;
mod detection;
mod grid;
mod padding;
mod pooling;
mod receptive;
mod segmentation;
mod stack;

pub use architecture::{cnn_architecture, LECTURE_CNN};
pub use augment::{augmented, augmented_with};
pub use blocks::{depthwise_separable, inception_module, residual_unit, resnet34_stack, se_block};
pub use detection::{canvas_boxes, detection_boxes, PREDICTED_BOX, TRUE_BOX};
pub use padding::padding_grid;
pub use pooling::{depthwise_pooling_diagram, pooling_grid, pooling_invariance};
pub use receptive::receptive_field;
pub use segmentation::{mask_color, mask_rgb, segmentation, BACKGROUND};
pub use stack::feature_map_stack;
