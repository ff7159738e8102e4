//! Sample photographs compiled into the crate, and turning images into arrays.
//!
//! The photos come from scikit-image's sample data (Debian 12 package `python3-skimage`
//! 0.19.3, `skimage/data/`), downscaled and saved as JPEG (quality 90); sources and licences
//! are in `assets/photos/README.md` and in [`PHOTOS`].

use std::path::Path;

use image::RgbImage;
use ndarray::{Array2, Array3, Array4, Axis};

use crate::error::{Error, Result};

/// Where a sample photo comes from and under which terms it may be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoInfo {
    /// The name to pass to [`photo`].
    pub name: &'static str,
    /// What it shows.
    pub title: &'static str,
    /// The photographer or owner.
    pub author: &'static str,
    /// The licence, as stated by scikit-image's `skimage/data/_fetchers.py`.
    pub licence: &'static str,
    /// The original file in scikit-image.
    pub source: &'static str,
    /// Width in pixels of the shipped (downscaled) version.
    pub width: u32,
    /// Height in pixels of the shipped (downscaled) version.
    pub height: u32,
}

/// Names of the sample photos, for [`photo`].
pub const PHOTO_NAMES: &[&str] = &["chelsea", "coffee", "astronaut", "rocket"];

/// Source, author and licence of every sample photo, in [`PHOTO_NAMES`] order.
pub const PHOTOS: [PhotoInfo; 4] = [
    PhotoInfo {
        name: "chelsea",
        title: "Chelsea the cat (고양이)",
        author: "Stefan van der Walt",
        licence: "CC0 (no copyright restrictions)",
        source: "skimage/data/chelsea.png, 451 x 300",
        width: 360,
        height: 240,
    },
    PhotoInfo {
        name: "coffee",
        title: "A cup of coffee (커피 잔), courtesy of Pikolo Espresso Bar",
        author: "Rachel Michetti",
        licence: "CC0 (no copyright restrictions)",
        source: "skimage/data/coffee.png, 600 x 400",
        width: 360,
        height: 240,
    },
    PhotoInfo {
        name: "astronaut",
        title: "Astronaut Eileen Collins (우주비행사), NASA Great Images database",
        author: "NASA",
        licence: "public domain (no known copyright restrictions)",
        source: "skimage/data/astronaut.png, 512 x 512",
        width: 320,
        height: 320,
    },
    PhotoInfo {
        name: "rocket",
        title: "Launch of DSCOVR on a Falcon 9 (로켓 발사대)",
        author: "SpaceX",
        licence: "public domain (released by SpaceX)",
        source: "skimage/data/rocket.jpg, 640 x 427",
        width: 360,
        height: 240,
    },
];

/// The JPEG bytes, in [`PHOTO_NAMES`] order.
const PHOTO_BYTES: [&[u8]; 4] = [
    include_bytes!("../assets/photos/chelsea.jpg"),
    include_bytes!("../assets/photos/coffee.jpg"),
    include_bytes!("../assets/photos/astronaut.jpg"),
    include_bytes!("../assets/photos/rocket.jpg"),
];

/// Position of `name` in [`PHOTO_NAMES`] (case and a `.jpg` ending ignored), or an error that
/// lists the available names.
fn photo_index(name: &str) -> Result<usize> {
    let wanted = name.trim().to_ascii_lowercase();
    let wanted = wanted.strip_suffix(".jpg").unwrap_or(&wanted);
    PHOTO_NAMES
        .iter()
        .position(|n| *n == wanted)
        .ok_or_else(|| {
            Error::invalid(
                "photo name",
                format!(
                    "there is no sample photo `{name}`; available: {}",
                    PHOTO_NAMES.join(", ")
                ),
            )
        })
}

/// A sample photo by name ([`PHOTO_NAMES`]), decoded as 8-bit RGB.
///
/// Errors: [`Error::Invalid`] listing the available names when `name` is unknown.
///
/// ```
/// use cnnkit_data::photo;
/// let coffee = photo("coffee")?;
/// assert_eq!(coffee.dimensions(), (360, 240)); // (width, height)
/// assert!(photo("temple").unwrap_err().to_string().contains("chelsea, coffee"));
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn photo(name: &str) -> Result<RgbImage> {
    let index = photo_index(name)?;
    image::load_from_memory(PHOTO_BYTES[index])
        .map(|img| img.to_rgb8())
        .map_err(|source| Error::Image {
            name: PHOTO_NAMES[index].to_string(),
            source,
        })
}

/// Source, author and licence of a sample photo (for a caption or a credits cell).
///
/// ```
/// let info = cnnkit_data::photo_info("chelsea")?;
/// assert_eq!(info.author, "Stefan van der Walt");
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn photo_info(name: &str) -> Result<&'static PhotoInfo> {
    Ok(&PHOTOS[photo_index(name)?])
}

/// The two photos of the lecture's filter demos (the cat and the coffee cup, both 360 × 240) as
/// one batch scaled to `0..=1`.
///
/// Keras equivalent: `load_sample_images()["images"]` followed by `Rescaling(scale=1 / 255)`
/// (the book's photos are a temple and a flower; these are CC0 stand-ins).
///
/// # Shapes
/// `(2, 240, 360, 3)`: (images, height, width, channels), channels last as in Keras.
///
/// ```
/// let images = cnnkit_data::sample_images()?;
/// assert_eq!(images.shape(), &[2, 240, 360, 3]);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn sample_images() -> Result<Array4<f32>> {
    let cat = rgb_to_array(&photo("chelsea")?);
    let coffee = rgb_to_array(&photo("coffee")?);
    ndarray::stack(Axis(0), &[cat.view(), coffee.view()])
        .map_err(|e| Error::invalid("sample images", format!("cannot stack them: {e}")))
}

/// Reads a PNG or JPEG file from any path, as 8-bit RGB (grayscale and alpha are converted).
///
/// Errors: [`Error::Io`] when the file cannot be read, [`Error::Image`] when it is not a PNG
/// or JPEG image (the crate is built with only these two formats).
///
/// ```
/// let path = std::env::temp_dir().join("cnnkit-doc-load-image.png");
/// cnnkit_data::photo("rocket")?.save(&path).unwrap();
/// let img = cnnkit_data::load_image(&path)?;
/// assert_eq!(img.dimensions(), (360, 240));
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn load_image(path: impl AsRef<Path>) -> Result<RgbImage> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    image::load_from_memory(&bytes)
        .map(|img| img.to_rgb8())
        .map_err(|source| Error::Image {
            name: path.display().to_string(),
            source,
        })
}

/// An RGB image as an array of `f32` in `0..=1` (each byte divided by 255).
///
/// # Shapes
/// `(height, width, 3)`: rows first, channels last (R, G, B), as Keras and NumPy hold images.
///
/// ```
/// use cnnkit_data::rgb_to_array;
/// let img = image::RgbImage::from_pixel(4, 2, image::Rgb([255, 0, 51]));
/// let x = rgb_to_array(&img);
/// assert_eq!(x.shape(), &[2, 4, 3]);
/// assert_eq!(x[[1, 3, 0]], 1.0);
/// assert_eq!(x[[1, 3, 2]], 0.2);
/// ```
pub fn rgb_to_array(img: &RgbImage) -> Array3<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    Array3::from_shape_fn((h, w, 3), |(y, x, c)| {
        img.get_pixel(x as u32, y as u32)[c] as f32 / 255.0
    })
}

/// An RGB image as a grayscale array of `f32` in `0..=1`, with the ITU-R BT.601 weights
/// `0.299 R + 0.587 G + 0.114 B` (those of `tf.image.rgb_to_grayscale`).
///
/// # Shapes
/// `(height, width)`.
///
/// ```
/// use cnnkit_data::rgb_to_gray;
/// let img = image::RgbImage::from_pixel(3, 2, image::Rgb([255, 255, 255]));
/// let g = rgb_to_gray(&img);
/// assert_eq!(g.shape(), &[2, 3]);
/// assert!((g[[0, 0]] - 1.0).abs() < 1e-6);
/// ```
pub fn rgb_to_gray(img: &RgbImage) -> Array2<f32> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    Array2::from_shape_fn((h, w), |(y, x)| {
        let [r, g, b] = img.get_pixel(x as u32, y as u32).0;
        (0.299 * r as f32 + 0.587 * g as f32 + 0.114 * b as f32) / 255.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_photo_decodes_at_its_recorded_size() {
        assert_eq!(PHOTO_NAMES.len(), PHOTOS.len());
        for (name, info) in PHOTO_NAMES.iter().zip(&PHOTOS) {
            assert_eq!(*name, info.name);
            let img = photo(name).unwrap();
            assert_eq!(img.dimensions(), (info.width, info.height), "{name}");
            assert!(PHOTO_BYTES[photo_index(name).unwrap()].len() < 150_000);
        }
    }

    #[test]
    fn names_are_forgiving_about_case_and_extension() {
        assert!(photo("Chelsea.JPG").is_ok());
        assert!(photo(" coffee ").is_ok());
    }

    #[test]
    fn unknown_name_lists_the_available_ones() {
        let err = photo("china").unwrap_err().to_string();
        assert!(err.contains("`china`"), "{err}");
        for name in PHOTO_NAMES {
            assert!(err.contains(name), "{err}");
        }
    }

    #[test]
    fn photos_are_real_colour_photographs() {
        // A photograph has many distinct colours and is not grey: cheap guards against an
        // asset replaced by a placeholder or saved as grayscale.
        for name in PHOTO_NAMES {
            let img = photo(name).unwrap();
            let mut colours: Vec<[u8; 3]> = img.pixels().map(|p| p.0).collect();
            colours.sort_unstable();
            colours.dedup();
            assert!(colours.len() > 5_000, "{name}: {} colours", colours.len());
            let chroma = img
                .pixels()
                .filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 20)
                .count();
            let pixels = (img.width() * img.height()) as usize;
            assert!(chroma > pixels / 10, "{name}: nearly grey");
        }
    }

    #[test]
    fn gray_uses_bt601_weights() {
        let img = RgbImage::from_pixel(1, 1, image::Rgb([255, 0, 0]));
        assert!((rgb_to_gray(&img)[[0, 0]] - 0.299).abs() < 1e-6);
        let img = RgbImage::from_pixel(1, 1, image::Rgb([0, 0, 255]));
        assert!((rgb_to_gray(&img)[[0, 0]] - 0.114).abs() < 1e-6);
    }

    #[test]
    fn array_layout_is_height_width_channels() {
        let mut img = RgbImage::new(3, 2);
        img.put_pixel(2, 1, image::Rgb([0, 255, 0]));
        let x = rgb_to_array(&img);
        assert_eq!(x.shape(), &[2, 3, 3]);
        assert_eq!(x[[1, 2, 1]], 1.0);
        assert_eq!(x.sum(), 1.0);
    }
}
