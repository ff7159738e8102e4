//! # cnnkit-data
//!
//! Data sets and sample images for the chapter-14 CNN notebooks: Fashion-MNIST, canvases
//! made from it for localization, detection and segmentation, and a few photos for the
//! filter demos. Plain arrays and bytes: no tensors, no plotting.
//!
//! | item | what it is | Keras equivalent in the lecture |
//! |---|---|---|
//! | [`FashionMnist::load`] | the 70,000 Fashion-MNIST images, found locally or downloaded once | `keras.datasets.fashion_mnist.load_data()` |
//! | [`Split`] | one split (images `n × 28 × 28` as `u8`, labels `0..=9`) | `(X_train_full, y_train_full)` |
//! | [`Split::split_at`] | train / validation split (55,000 / 5,000) | `X_train_full[:-5000]`, `X_train_full[-5000:]` |
//! | [`class_name`], [`CLASS_NAMES_KO`], [`CLASS_NAMES_EN`] | label names | `class_names` |
//! | [`sample_images`], [`photo`] | real photographs (a cat, a coffee cup, ...) | `load_sample_images()` |
//! | [`canvas`] | synthetic detection / segmentation canvases: items at random places, exact boxes, masks | (the book downloads its data sets) |
//!
//! # Where Fashion-MNIST comes from
//!
//! [`FashionMnist::load`] looks, in order, in
//! 1. the folder named by the environment variable `FASHION_MNIST_DIR`,
//! 2. the user cache `$XDG_CACHE_HOME/cnnkit/fashion-mnist` (or `~/.cache/cnnkit/fashion-mnist`),
//! 3. `/usr/share/datasets/fashion-mnist`, installed by
//!    `sudo apt-get install dataset-fashion-mnist` (Debian, Ubuntu),
//!
//! and otherwise downloads the four files (about 30 MB) from the original address into the
//! cache. Every file is checked: IDX header, size, and the SHA-256 digest of its decompressed
//! bytes ([`SHA256`]). A download goes to a temporary file first and is moved into the cache only
//! once it passed these checks. [`Loader`] sets every one of these choices explicitly.
//!
//! ```
//! use cnnkit_data::{class_name, FashionMnist};
//!
//! // Returns early on a machine without the data and without internet.
//! let Ok(data) = FashionMnist::load() else { return };
//! let (train, valid) = data.train.split_at(55_000);
//! assert_eq!((train.len(), valid.len(), data.test.len()), (55_000, 5_000, 10_000));
//! assert_eq!(class_name(train.labels[0]), "앵클 부츠 (Ankle boot)");
//! ```
//!
//! # Photos
//!
//! The photos are compiled into the crate (`assets/photos/`, about 130 KB in all), so they load
//! from any working directory. Their sources and licences (CC0 or public domain) are listed in
//! `assets/photos/README.md` and in [`PHOTOS`].
//!
//! ```
//! use cnnkit_data::{photo, rgb_to_array};
//!
//! let cat = photo("chelsea")?;
//! let x = rgb_to_array(&cat); // (height, width, channels), values in 0..=1
//! assert_eq!(x.shape(), &[240, 360, 3]);
//! # Ok::<(), cnnkit_data::Error>(())
//! ```

#![warn(missing_docs)]

pub mod cache;
pub mod canvas;
mod download;
mod error;
mod fashion;
pub mod idx;
mod photos;
mod split;

pub use error::{explain_io, Error, Result};
pub use fashion::{
    class_name, default_cache_dir, sha256_hex, ClassLabel, FashionMnist, Loader, CLASS_NAMES_EN,
    CLASS_NAMES_KO, DEBIAN_DIR, DEFAULT_BASE_URL, DIR_ENV, FILES, SHA256,
};
pub use photos::{
    load_image, photo, photo_info, rgb_to_array, rgb_to_gray, sample_images, PhotoInfo, PHOTOS,
    PHOTO_NAMES,
};
pub use split::{Split, IMAGE_PIXELS, IMAGE_SIDE};
