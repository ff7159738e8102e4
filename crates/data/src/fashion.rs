//! Fashion-MNIST: finding, downloading, checking and parsing the four IDX files.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::download::{self, Failure};
use super::idx::{self, IMAGES_MAGIC, LABELS_MAGIC};
use super::split::{Split, IMAGE_SIDE};
use crate::error::{Error, Result};

/// The four files, without extension, in the order train images, train labels, test images,
/// test labels. Each may be stored as `<name>.gz` (as distributed) or decompressed as `<name>`.
pub const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// SHA-256 digests of the DECOMPRESSED [`FILES`], in the same order (lowercase hex).
///
/// Computed on the files of the Debian 12 package `dataset-fashion-mnist` with
/// `zcat /usr/share/datasets/fashion-mnist/<name>.gz | sha256sum`. Digests of the decompressed
/// bytes are used because Debian re-compressed the files: its `.gz` bytes differ from the
/// upstream downloads, while the IDX data inside is the same.
pub const SHA256: [&str; 4] = [
    "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
];

/// The original download address of Fashion-MNIST (Zalando Research), plain HTTP.
pub const DEFAULT_BASE_URL: &str = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/";

/// Environment variable naming a folder that holds the four files; searched first.
pub const DIR_ENV: &str = "FASHION_MNIST_DIR";

/// Where Debian's `dataset-fashion-mnist` package installs the files.
pub const DEBIAN_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// English class names, indexed by label (as in the lecture's `class_names`).
pub const CLASS_NAMES_EN: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Korean class names, indexed by label.
pub const CLASS_NAMES_KO: [&str; 10] = [
    "티셔츠/탑",
    "바지",
    "풀오버",
    "드레스",
    "코트",
    "샌들",
    "셔츠",
    "스니커즈",
    "가방",
    "앵클 부츠",
];

/// The class name of `label` in Korean and English, e.g. `"앵클 부츠 (Ankle boot)"`.
///
/// Accepts the label types a notebook has at hand: `u8` (from [`Split::labels`]), `usize` (an
/// `argmax`), or a plain number. A label outside `0..=9` gives a placeholder, not a panic.
///
/// ```
/// use cnnkit_data::class_name;
/// assert_eq!(class_name(9), "앵클 부츠 (Ankle boot)");
/// assert_eq!(class_name(0u8), "티셔츠/탑 (T-shirt/top)");
/// assert_eq!(class_name(12usize), "알 수 없는 클래스 12 (unknown class 12)");
/// ```
pub fn class_name(label: impl ClassLabel) -> String {
    let label = label.label_index();
    match (
        label.and_then(|l| CLASS_NAMES_KO.get(l)),
        label.and_then(|l| CLASS_NAMES_EN.get(l)),
    ) {
        (Some(ko), Some(en)) => format!("{ko} ({en})"),
        _ => {
            let shown = label.map_or_else(|| "?".to_string(), |l| l.to_string());
            format!("알 수 없는 클래스 {shown} (unknown class {shown})")
        }
    }
}

/// Integer types accepted by [`class_name`] as a label.
///
/// Implemented for the unsigned integers and for `i32` / `i64` (so that a plain literal such
/// as `class_name(3)` compiles); negative values have no class.
pub trait ClassLabel {
    /// The label as an index, or `None` if it is negative or does not fit.
    fn label_index(self) -> Option<usize>;
}

macro_rules! class_label_for {
    ($($t:ty),*) => {$(
        impl ClassLabel for $t {
            fn label_index(self) -> Option<usize> {
                usize::try_from(self).ok()
            }
        }
    )*};
}
class_label_for!(u8, u16, u32, u64, usize, i32, i64);

/// The cache folder for downloads: `$XDG_CACHE_HOME/cnnkit/fashion-mnist`, else
/// `~/.cache/cnnkit/fashion-mnist` (`HOME`), else a folder in the system's temporary folder.
pub fn default_cache_dir() -> PathBuf {
    let env_dir = |name: &str| {
        std::env::var_os(name)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = env_dir("XDG_CACHE_HOME")
        .or_else(|| env_dir("HOME").map(|h| h.join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("cnnkit-cache"));
    base.join("cnnkit").join("fashion-mnist")
}

/// The SHA-256 digest of `bytes` as lowercase hex, the form used by [`SHA256`] and by
/// `sha256sum`.
///
/// ```
/// assert_eq!(
///     cnnkit_data::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The Fashion-MNIST data set: 60,000 training and 10,000 test images of clothing, 28 × 28
/// grayscale, in 10 classes ([`CLASS_NAMES_KO`]).
///
/// Keras equivalent: `(X_train_full, y_train_full), (X_test, y_test) =
/// keras.datasets.fashion_mnist.load_data()`.
///
/// ```
/// use cnnkit_data::FashionMnist;
///
/// // Returns early on a machine without the data and without internet.
/// let Ok(data) = FashionMnist::load() else { return };
/// assert_eq!(data.train.len(), 60_000);
/// assert_eq!(data.test.label_counts(), [1_000; 10]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FashionMnist {
    /// The 60,000 training images (the lecture keeps the last 5,000 for validation:
    /// [`Split::split_at`]).
    pub train: Split,
    /// The 10,000 test images.
    pub test: Split,
}

impl FashionMnist {
    /// Finds (or downloads once) and loads Fashion-MNIST, checking every file.
    ///
    /// Looks in `FASHION_MNIST_DIR`, then the user cache ([`default_cache_dir`]), then
    /// [`DEBIAN_DIR`]; if the files are in none of them, downloads them from
    /// [`DEFAULT_BASE_URL`] into the cache, with a progress line on stderr. Use [`Loader`] to
    /// change any of this.
    ///
    /// Errors: [`Error::DatasetNotFound`] (lists the places searched and how to install the
    /// data) when nothing was found and nothing could be downloaded; a file error
    /// ([`Error::ChecksumMismatch`], [`Error::Truncated`], [`Error::BadMagic`], ...) when a file
    /// was found but is damaged; [`Error::Http`] / [`Error::Download`] when a download failed.
    ///
    /// ```
    /// # use cnnkit_data::FashionMnist;
    /// match FashionMnist::load() {
    ///     Ok(data) => assert_eq!(data.train.labels[..3], [9, 0, 0]),
    ///     Err(e) => eprintln!("{e}"), // says where it looked and what to install
    /// }
    /// ```
    pub fn load() -> Result<FashionMnist> {
        Loader::new().load()
    }

    /// Loads the four files from `dir` only (no cache, no download), checking them against
    /// [`SHA256`].
    ///
    /// ```
    /// use cnnkit_data::{FashionMnist, DEBIAN_DIR};
    /// if std::path::Path::new(DEBIAN_DIR).exists() {
    ///     let data = FashionMnist::load_from(DEBIAN_DIR)?;
    ///     assert_eq!(data.test.len(), 10_000);
    /// }
    /// # Ok::<(), cnnkit_data::Error>(())
    /// ```
    pub fn load_from(dir: impl AsRef<Path>) -> Result<FashionMnist> {
        let dir = dir.as_ref();
        match find_files(dir) {
            Ok(paths) => load_files(&paths, Some(&SHA256.map(String::from)), &advice_replace),
            Err(missing) => Err(Error::DatasetNotFound {
                searched: vec![format!("`{}`: {missing}", dir.display())],
                reason: "`FashionMnist::load_from` does not download; use \
                         `FashionMnist::load()` for that"
                    .to_string(),
                cache: default_cache_dir(),
            }),
        }
    }
}

/// Loads Fashion-MNIST with every choice explicit: folders to search, cache folder, download
/// address, checksums.
///
/// `Loader::new().load()` is [`FashionMnist::load`]. Search order: folders given with
/// [`dir`](Self::dir); `FASHION_MNIST_DIR`; the cache folder; [`DEBIAN_DIR`]; then a download
/// into the cache folder. Giving a folder with `dir` switches the two system places
/// (`FASHION_MNIST_DIR` and [`DEBIAN_DIR`]) off unless [`system_dirs(true)`](Self::system_dirs)
/// switches them back on. The cache folder is always searched. If only some of the four files
/// are in the cache, only the others are downloaded.
///
/// ```
/// use cnnkit_data::Loader;
///
/// let dir = std::env::temp_dir().join("cnnkit-doc-empty-folder");
/// let result = Loader::new()
///     .dir(&dir)                   // look here ...
///     .cache_dir(dir.join("cache")) // ... and here ...
///     .allow_download(false)       // ... and nowhere else
///     .load();
/// let message = result.unwrap_err().to_string();
/// assert!(message.contains("sudo apt-get install dataset-fashion-mnist"));
/// ```
#[derive(Debug, Clone)]
pub struct Loader {
    dirs: Vec<PathBuf>,
    system_dirs: Option<bool>,
    cache_dir: Option<PathBuf>,
    base_url: String,
    allow_download: bool,
    checksums: Option<[String; 4]>,
    progress: bool,
}

impl Default for Loader {
    fn default() -> Self {
        Loader::new()
    }
}

/// A place to look for the files, and what to tell the student when a file there is damaged.
struct Place {
    dir: PathBuf,
    what: &'static str,
    advice: fn(&Path) -> String,
}

impl Loader {
    /// The defaults of [`FashionMnist::load`]: system places on, the user cache, the original
    /// address, downloads allowed, checksums [`SHA256`], progress on stderr.
    pub fn new() -> Loader {
        Loader {
            dirs: Vec::new(),
            system_dirs: None,
            cache_dir: None,
            base_url: DEFAULT_BASE_URL.to_string(),
            allow_download: true,
            checksums: Some(SHA256.map(String::from)),
            progress: true,
        }
    }

    /// Searches `dir` (before anything else). May be called several times. Switches the system
    /// places off unless [`system_dirs`](Self::system_dirs) says otherwise.
    pub fn dir(mut self, dir: impl Into<PathBuf>) -> Loader {
        self.dirs.push(dir.into());
        self
    }

    /// Whether to search `FASHION_MNIST_DIR` and [`DEBIAN_DIR`] (default: yes, unless folders
    /// were given with [`dir`](Self::dir)).
    pub fn system_dirs(mut self, on: bool) -> Loader {
        self.system_dirs = Some(on);
        self
    }

    /// The folder downloads are written to (and which is searched); default
    /// [`default_cache_dir`].
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Loader {
        self.cache_dir = Some(dir.into());
        self
    }

    /// The address the four `.gz` files are downloaded from (`<base_url>/<name>.gz`); default
    /// [`DEFAULT_BASE_URL`]. Only `http://` works: the crate is built without TLS.
    pub fn base_url(mut self, url: impl Into<String>) -> Loader {
        self.base_url = url.into();
        self
    }

    /// Whether to download when no folder holds the files (default: yes).
    pub fn allow_download(mut self, allow: bool) -> Loader {
        self.allow_download = allow;
        self
    }

    /// The expected SHA-256 digests (hex) of the decompressed files, in [`FILES`] order;
    /// default [`SHA256`]. For tests with small hand-made files.
    pub fn checksums<S: AsRef<str>>(mut self, digests: [S; 4]) -> Loader {
        self.checksums = Some(digests.map(|d| d.as_ref().trim().to_ascii_lowercase()));
        self
    }

    /// Whether to compare checksums at all (default: yes). The IDX headers and sizes are
    /// checked either way.
    pub fn verify_checksums(mut self, on: bool) -> Loader {
        if !on {
            self.checksums = None;
        } else if self.checksums.is_none() {
            self.checksums = Some(SHA256.map(String::from));
        }
        self
    }

    /// Whether to print download progress on stderr (default: yes).
    pub fn progress(mut self, on: bool) -> Loader {
        self.progress = on;
        self
    }

    /// Finds or downloads the files, checks them, and parses them.
    ///
    /// The errors are those of [`FashionMnist::load`].
    pub fn load(&self) -> Result<FashionMnist> {
        let cache = self.cache_dir.clone().unwrap_or_else(default_cache_dir);
        let mut searched = Vec::new();
        for place in self.places(&cache, &mut searched)? {
            match find_files(&place.dir) {
                Ok(paths) => return load_files(&paths, self.checksums.as_ref(), &place.advice),
                // A folder named on purpose is not skipped in silence.
                Err(missing) if place.what == DIR_ENV => {
                    return Err(Error::invalid(
                        DIR_ENV,
                        format!(
                            "it is set to `{}`, but that folder has no Fashion-MNIST ({missing}). \
                             Put the four files there, or unset FASHION_MNIST_DIR to use the \
                             other places (the download cache, the Debian package). / \
                             FASHION_MNIST_DIR가 가리키는 폴더에 데이터가 없습니다.",
                            place.dir.display()
                        ),
                    ))
                }
                Err(missing) => searched.push(format!(
                    "`{}` ({}): {missing}",
                    place.dir.display(),
                    place.what
                )),
            }
        }
        if !self.allow_download {
            return Err(Error::DatasetNotFound {
                searched,
                reason: "downloading is switched off (`Loader::allow_download(false)`)".into(),
                cache,
            });
        }
        self.download(&cache, searched)
    }

    /// The places to search, in order; notes an unset `FASHION_MNIST_DIR` in `searched`.
    ///
    /// # Errors
    /// When `FASHION_MNIST_DIR` is set to an empty value.
    fn places(&self, cache: &Path, searched: &mut Vec<String>) -> Result<Vec<Place>> {
        let system = self.system_dirs.unwrap_or(self.dirs.is_empty());
        let mut places: Vec<Place> = self
            .dirs
            .iter()
            .map(|d| Place {
                dir: d.clone(),
                what: "folder given to the loader",
                advice: advice_replace,
            })
            .collect();
        if system {
            match std::env::var_os(DIR_ENV) {
                Some(dir) if dir.is_empty() => {
                    return Err(Error::invalid(
                        DIR_ENV,
                        "it is set but empty; set it to the folder that holds the four files, \
                         or unset it (`unset FASHION_MNIST_DIR`) to search the usual places. / \
                         FASHION_MNIST_DIR가 비어 있습니다.",
                    ))
                }
                Some(dir) => places.push(Place {
                    dir: dir.into(),
                    what: "FASHION_MNIST_DIR",
                    advice: advice_env,
                }),
                None => searched.push("FASHION_MNIST_DIR: not set".to_string()),
            }
        }
        places.push(Place {
            dir: cache.to_path_buf(),
            what: "cnnkit's download cache",
            advice: advice_cache,
        });
        if system {
            places.push(Place {
                dir: DEBIAN_DIR.into(),
                what: "Debian package dataset-fashion-mnist",
                advice: advice_debian,
            });
        }
        Ok(places)
    }

    /// Downloads the files missing from `cache`, then loads all four.
    fn download(&self, cache: &Path, searched: Vec<String>) -> Result<FashionMnist> {
        if self.progress {
            println!(
                "Fashion-MNIST is not on this machine yet: downloading it (about 30 MB, once) \
                 from {} into `{}`",
                self.base_url,
                cache.display()
            );
        }
        let agent = download::agent();
        let mut parts = Vec::with_capacity(4);
        let mut paths = Vec::with_capacity(4);
        for (index, stem) in FILES.iter().enumerate() {
            let expected = self.checksums.as_ref().map(|c| c[index].as_str());
            if let Some(path) = existing_file(cache, stem) {
                parts.push(read_part(&path, index, expected, &advice_cache)?);
                paths.push(path);
                continue;
            }
            let name = format!("{stem}.gz");
            let url = download::join_url(&self.base_url, &name);
            let dest = cache.join(&name);
            let shown = PathBuf::from(&url);
            let advice = |_: &Path| {
                format!(
                    "The downloaded file was discarded and the cache `{}` was left untouched. \
                     Retry; if it happens again, the server does not send the original \
                     Fashion-MNIST (check the base URL), or install the data offline: \
                     `sudo apt-get install dataset-fashion-mnist`",
                    cache.display()
                )
            };
            let result = download::download(&agent, &url, &dest, self.progress, |bytes| {
                let bytes = idx::gunzip_if_needed(bytes, &shown)?;
                check_part(bytes, index, &shown, expected, &advice)
            });
            match result {
                Ok(part) => parts.push(part),
                Err(Failure::Error(e)) => return Err(e),
                Err(Failure::Unreachable(reason)) => {
                    return Err(Error::DatasetNotFound {
                        searched,
                        reason,
                        cache: cache.to_path_buf(),
                    })
                }
            }
            paths.push(dest);
        }
        let paths: [PathBuf; 4] = paths
            .try_into()
            .map_err(|_| Error::invalid("Fashion-MNIST files", "internal error: not four files"))?;
        assemble(parts, &paths)
    }
}

fn advice_replace(path: &Path) -> String {
    format!(
        "The file is damaged or is not the original Fashion-MNIST: replace `{}` with the \
         original file and retry",
        path.display()
    )
}

fn advice_env(path: &Path) -> String {
    format!(
        "The file is damaged or is not the original Fashion-MNIST: replace `{}`, or unset \
         FASHION_MNIST_DIR to use another copy, and retry",
        path.display()
    )
}

fn advice_cache(path: &Path) -> String {
    format!(
        "Delete `{}` and retry: it will be downloaded again",
        path.display()
    )
}

fn advice_debian(_: &Path) -> String {
    "Reinstall the package: `sudo apt-get install --reinstall dataset-fashion-mnist`".to_string()
}

/// `dir/<stem>` if it is a file, else `dir/<stem>.gz` if it is a file.
fn existing_file(dir: &Path, stem: &str) -> Option<PathBuf> {
    [dir.join(stem), dir.join(format!("{stem}.gz"))]
        .into_iter()
        .find(|p| p.is_file())
}

/// The paths of the four files in `dir`, or a description of what is missing.
fn find_files(dir: &Path) -> std::result::Result<[PathBuf; 4], String> {
    if !dir.is_dir() {
        return Err("no such folder".to_string());
    }
    let found = FILES.map(|stem| existing_file(dir, stem));
    if let [Some(a), Some(b), Some(c), Some(d)] = found {
        return Ok([a, b, c, d]);
    }
    let missing: Vec<String> = FILES
        .iter()
        .zip(&found)
        .filter(|(_, f)| f.is_none())
        .map(|(stem, _)| format!("{stem}[.gz]"))
        .collect();
    Err(format!("missing {}", missing.join(", ")))
}

/// One checked file, header removed.
enum Part {
    Images { pixels: Vec<u8>, n: usize },
    Labels(Vec<u8>),
}

/// Reads, decompresses and checks file number `index` of [`FILES`].
fn read_part(
    path: &Path,
    index: usize,
    expected: Option<&str>,
    advice: &dyn Fn(&Path) -> String,
) -> Result<Part> {
    let bytes = idx::read_file(path)?;
    check_part(bytes, index, path, expected, advice)
}

/// Checks decompressed file number `index` of [`FILES`]: IDX header and size, 28 × 28 images,
/// checksum, labels in `0..=9`.
fn check_part(
    bytes: Vec<u8>,
    index: usize,
    path: &Path,
    expected: Option<&str>,
    advice: &dyn Fn(&Path) -> String,
) -> Result<Part> {
    let is_images = index.is_multiple_of(2);
    let magic = if is_images {
        IMAGES_MAGIC
    } else {
        LABELS_MAGIC
    };
    let header = idx::read_header(&bytes, magic, path)?;
    if is_images && (header.dims[1], header.dims[2]) != (IMAGE_SIDE, IMAGE_SIDE) {
        return Err(Error::BadDimensions {
            path: path.to_path_buf(),
            expected: format!("{IMAGE_SIDE} x {IMAGE_SIDE}"),
            found: format!("{} x {}", header.dims[1], header.dims[2]),
        });
    }
    if let Some(expected) = expected {
        let actual = sha256_hex(&bytes);
        if actual != expected {
            return Err(Error::ChecksumMismatch {
                path: path.to_path_buf(),
                expected: expected.to_string(),
                actual,
                advice: advice(path),
            });
        }
    }
    let n = header.count();
    let data = idx::strip_header(bytes, &header);
    if is_images {
        return Ok(Part::Images { pixels: data, n });
    }
    if let Some(i) = data.iter().position(|&l| l > 9) {
        return Err(Error::Corrupt {
            path: path.to_path_buf(),
            why: format!("label {} at position {i} is outside 0..=9", data[i]),
        });
    }
    Ok(Part::Labels(data))
}

/// Reads and checks the four files (the training images, by far the largest, on a second
/// thread) and builds the data set.
fn load_files(
    paths: &[PathBuf; 4],
    checksums: Option<&[String; 4]>,
    advice: &(dyn Fn(&Path) -> String + Sync),
) -> Result<FashionMnist> {
    let expected = |i: usize| checksums.map(|c| c[i].as_str());
    let parts: Result<Vec<Part>> = std::thread::scope(|scope| {
        let train_images = scope.spawn(|| read_part(&paths[0], 0, expected(0), advice));
        let mut rest: Vec<Result<Part>> = (1..4)
            .map(|i| read_part(&paths[i], i, expected(i), advice))
            .collect();
        let first = train_images.join().unwrap_or_else(|_| {
            Err(Error::invalid(
                "Fashion-MNIST loading",
                "the thread reading the training images panicked",
            ))
        });
        rest.insert(0, first);
        rest.into_iter().collect()
    });
    assemble(parts?, paths)
}

/// Pairs images with labels, checking the counts.
fn assemble(parts: Vec<Part>, paths: &[PathBuf; 4]) -> Result<FashionMnist> {
    let mut parts = parts.into_iter();
    let mut split = |images_path: &Path, labels_path: &Path| -> Result<Split> {
        match (parts.next(), parts.next()) {
            (Some(Part::Images { pixels, n }), Some(Part::Labels(labels))) => {
                if n != labels.len() {
                    return Err(Error::CountMismatch {
                        images_path: images_path.to_path_buf(),
                        images: n,
                        labels_path: labels_path.to_path_buf(),
                        labels: labels.len(),
                    });
                }
                Ok(Split {
                    images: pixels,
                    labels,
                    n,
                })
            }
            _ => Err(Error::invalid(
                "Fashion-MNIST files",
                "internal error: files out of order",
            )),
        }
    };
    let train = split(&paths[0], &paths[1])?;
    let test = split(&paths[2], &paths[3])?;
    Ok(FashionMnist { train, test })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn class_names_match_the_lecture() {
        assert_eq!(CLASS_NAMES_EN[0], "T-shirt/top");
        assert_eq!(CLASS_NAMES_EN[9], "Ankle boot");
        assert_eq!(class_name(5u8), "샌들 (Sandal)");
        assert_eq!(class_name(7usize), "스니커즈 (Sneaker)");
        assert!(class_name(-1).contains("unknown class ?"));
        assert!(class_name(10).contains("unknown class 10"));
    }

    #[test]
    fn checksums_are_lowercase_sha256_hex() {
        for digest in SHA256 {
            assert_eq!(digest.len(), 64);
            assert!(digest
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        }
    }

    #[test]
    fn sha256_hex_matches_a_known_vector() {
        // FIPS 180-2 test vector for the empty message.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn cache_dir_follows_xdg_layout() {
        let dir = default_cache_dir();
        assert!(dir.ends_with("cnnkit/fashion-mnist"), "{}", dir.display());
    }

    #[test]
    fn missing_folder_is_described() {
        let err = find_files(Path::new("/nonexistent/cnnkit-test")).unwrap_err();
        assert_eq!(err, "no such folder");
    }

    #[test]
    fn wrong_image_size_is_reported() {
        let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 32, 0, 0, 0, 32];
        bytes.extend(vec![0u8; 32 * 32]);
        let err = match check_part(bytes, 0, Path::new("x"), None, &advice_cache) {
            Err(e) => e,
            Ok(_) => panic!("32 x 32 images were accepted"),
        };
        assert!(matches!(err, Error::BadDimensions { .. }), "{err}");
        assert!(err.to_string().contains("32 x 32"), "{err}");
    }

    #[test]
    fn label_out_of_range_is_reported() {
        let bytes = vec![0, 0, 8, 1, 0, 0, 0, 2, 3, 10];
        let err = match check_part(bytes, 1, Path::new("x"), None, &advice_cache) {
            Err(e) => e,
            Ok(_) => panic!("label 10 was accepted"),
        };
        assert!(err.to_string().contains("label 10 at position 1"), "{err}");
    }
}
