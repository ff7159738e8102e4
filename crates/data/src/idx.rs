//! The IDX file format of MNIST and Fashion-MNIST, plain or gzip-compressed.
//!
//! An IDX file is a big-endian header followed by raw bytes:
//!
//! | bytes | images file (`*-images-idx3-ubyte`) | labels file (`*-labels-idx1-ubyte`) |
//! |---|---|---|
//! | 0..4 | magic number `0x00000803` | magic number `0x00000801` |
//! | 4..8 | number of images `n` | number of labels `n` |
//! | 8..16 | rows, columns (28, 28) | — |
//! | then | `n × rows × columns` pixels, row-major, 0 = background | `n` labels |
//!
//! The readers here check the magic number and that the size matches the header exactly,
//! and return a [`crate::Error`] (never panic) on anything else. Files whose first two bytes are
//! the gzip signature are decompressed first, whatever their name.
//!
//! ```
//! use cnnkit_data::idx;
//!
//! // A labels file with three labels, built by hand.
//! let mut bytes = vec![0, 0, 8, 1, 0, 0, 0, 3];
//! bytes.extend([9, 0, 3]);
//! let path = std::env::temp_dir().join("cnnkit-doc-idx-labels");
//! std::fs::write(&path, &bytes).unwrap();
//! assert_eq!(idx::read_labels(&path)?, vec![9, 0, 3]);
//! # std::fs::remove_file(&path).ok();
//! # Ok::<(), cnnkit_data::Error>(())
//! ```

use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// Magic number of an IDX file of unsigned bytes with 3 dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with 1 dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The two signature bytes that start every gzip file.
const GZIP_SIGNATURE: [u8; 2] = [0x1f, 0x8b];

/// Largest buffer reserved up front from a gzip trailer's size field (a damaged trailer must
/// not make us allocate gigabytes; the buffer still grows past this if the data is real).
const MAX_RESERVE: usize = 256 << 20;

/// The parsed header of an IDX file whose size has been checked against it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdxHeader {
    /// The magic number ([`IMAGES_MAGIC`] or [`LABELS_MAGIC`]).
    pub magic: u32,
    /// The dimensions: `[n]` for labels, `[n, rows, columns]` for images.
    pub dims: Vec<usize>,
    /// Length of the header in bytes (8 for labels, 16 for images).
    pub header_len: usize,
}

impl IdxHeader {
    /// The number of items (the first dimension).
    pub fn count(&self) -> usize {
        self.dims.first().copied().unwrap_or(0)
    }
}

/// Reads a whole file, decompressing it when it starts with the gzip signature.
///
/// Errors: [`Error::Io`] when the file cannot be read, [`Error::Corrupt`] when the gzip
/// stream is damaged or ends early.
pub fn read_file(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
    gunzip_if_needed(bytes, path)
}

/// Decompresses `bytes` if they start with the gzip signature, else returns them unchanged.
///
/// `path` only names the file in error messages.
///
/// ```
/// use std::io::Write;
/// let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
/// gz.write_all(b"hello").unwrap();
/// let packed = gz.finish().unwrap();
/// let path = std::path::Path::new("hello.gz");
/// assert_eq!(cnnkit_data::idx::gunzip_if_needed(packed, path)?, b"hello");
/// assert_eq!(cnnkit_data::idx::gunzip_if_needed(b"plain".to_vec(), path)?, b"plain");
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn gunzip_if_needed(bytes: Vec<u8>, path: &Path) -> Result<Vec<u8>> {
    if !bytes.starts_with(&GZIP_SIGNATURE) {
        return Ok(bytes);
    }
    // The last four bytes of a gzip file hold the decompressed size modulo 2^32.
    let reserve = match bytes.len() {
        len if len >= 18 => {
            let t = &bytes[len - 4..];
            u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize
        }
        _ => 0,
    };
    let mut out = Vec::with_capacity(reserve.min(MAX_RESERVE));
    let mut decoder = flate2::read::MultiGzDecoder::new(&bytes[..]);
    decoder.read_to_end(&mut out).map_err(|e| {
        let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
            "its gzip data ends early, so the file is truncated (an interrupted copy or download?)"
                .to_string()
        } else {
            format!("it starts like a gzip file but cannot be decompressed ({e})")
        };
        Error::Corrupt {
            path: path.to_path_buf(),
            why,
        }
    })?;
    Ok(out)
}

/// Checks the header of decompressed IDX `bytes` against `expected_magic` and the size.
///
/// Errors: [`Error::Truncated`] when the bytes are shorter than the header announces (or too
/// short for a header), [`Error::BadMagic`] for another magic number, [`Error::Corrupt`] when
/// there are bytes after the announced end.
///
/// ```
/// use cnnkit_data::idx::{read_header, LABELS_MAGIC};
/// let bytes = [0, 0, 8, 1, 0, 0, 0, 2, 7, 7];
/// let header = read_header(&bytes, LABELS_MAGIC, "labels".as_ref())?;
/// assert_eq!(header.dims, vec![2]);
/// assert!(read_header(&bytes[..9], LABELS_MAGIC, "labels".as_ref()).is_err());
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn read_header(bytes: &[u8], expected_magic: u32, path: &Path) -> Result<IdxHeader> {
    let ndims = (expected_magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let truncated = |expected: u64| Error::Truncated {
        path: path.to_path_buf(),
        expected,
        actual: bytes.len() as u64,
    };
    if bytes.len() < 4 {
        return Err(truncated(header_len as u64));
    }
    let magic = be_u32(&bytes[0..4]);
    if magic != expected_magic {
        return Err(Error::BadMagic {
            path: path.to_path_buf(),
            kind: if expected_magic == IMAGES_MAGIC {
                "images"
            } else {
                "labels"
            },
            expected: expected_magic,
            found: magic,
        });
    }
    if bytes.len() < header_len {
        return Err(truncated(header_len as u64));
    }
    let dims: Vec<usize> = bytes[4..header_len]
        .chunks_exact(4)
        .map(|c| be_u32(c) as usize)
        .collect();
    // Three u32 factors can overflow a u64 in a damaged header: checked, never a panic.
    let expected = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
        .and_then(|payload| payload.checked_add(header_len as u64));
    let actual = bytes.len() as u64;
    match expected {
        Some(expected) if actual < expected => Err(truncated(expected)),
        None => Err(truncated(u64::MAX)),
        Some(expected) if actual > expected => Err(Error::Corrupt {
            path: path.to_path_buf(),
            why: format!(
                "its header announces {expected} bytes but it holds {actual} \
                 ({} bytes too many)",
                actual - expected
            ),
        }),
        Some(_) => Ok(IdxHeader {
            magic,
            dims,
            header_len,
        }),
    }
}

/// Reads an IDX images file (gzip or plain) and returns `(pixels, n, rows, columns)`, the
/// pixels row-major, one byte each.
pub fn read_images(path: impl AsRef<Path>) -> Result<(Vec<u8>, usize, usize, usize)> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let header = read_header(&bytes, IMAGES_MAGIC, path)?;
    let (n, rows, cols) = (header.dims[0], header.dims[1], header.dims[2]);
    Ok((strip_header(bytes, &header), n, rows, cols))
}

/// Reads an IDX labels file (gzip or plain) and returns its labels.
pub fn read_labels(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    let bytes = read_file(path)?;
    let header = read_header(&bytes, LABELS_MAGIC, path)?;
    Ok(strip_header(bytes, &header))
}

/// Removes the header from checked IDX bytes in place (one `memmove`, no new allocation).
pub fn strip_header(mut bytes: Vec<u8>, header: &IdxHeader) -> Vec<u8> {
    bytes.drain(..header.header_len.min(bytes.len()));
    bytes
}

/// Encodes images as an IDX images file (header + pixels, uncompressed), the inverse of
/// [`read_images`]. Useful to save a subset, or to build small test files.
///
/// Errors: [`Error::Invalid`] when `pixels.len() != n * rows * cols` or a dimension does not
/// fit the format's 32 bits.
///
/// ```
/// use cnnkit_data::idx::{encode_images, read_header, IMAGES_MAGIC};
/// let bytes = encode_images(&[0; 2 * 28 * 28], 2, 28, 28)?;
/// assert_eq!(read_header(&bytes, IMAGES_MAGIC, "x".as_ref())?.dims, vec![2, 28, 28]);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn encode_images(pixels: &[u8], n: usize, rows: usize, cols: usize) -> Result<Vec<u8>> {
    let needed = n.checked_mul(rows).and_then(|v| v.checked_mul(cols));
    if needed != Some(pixels.len()) {
        return Err(Error::invalid(
            "IDX images",
            format!(
                "{n} images of {rows} x {cols} need {} pixels, got {}",
                needed.map_or_else(|| "too many".to_string(), |v| v.to_string()),
                pixels.len()
            ),
        ));
    }
    let mut out = Vec::with_capacity(16 + pixels.len());
    out.extend_from_slice(&IMAGES_MAGIC.to_be_bytes());
    for d in [n, rows, cols] {
        out.extend_from_slice(&to_u32(d, "IDX images")?.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    Ok(out)
}

/// Encodes labels as an IDX labels file (header + labels, uncompressed), the inverse of
/// [`read_labels`].
///
/// ```
/// let bytes = cnnkit_data::idx::encode_labels(&[9, 0])?;
/// assert_eq!(bytes, [0, 0, 8, 1, 0, 0, 0, 2, 9, 0]);
/// # Ok::<(), cnnkit_data::Error>(())
/// ```
pub fn encode_labels(labels: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(8 + labels.len());
    out.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
    out.extend_from_slice(&to_u32(labels.len(), "IDX labels")?.to_be_bytes());
    out.extend_from_slice(labels);
    Ok(out)
}

fn to_u32(v: usize, what: &str) -> Result<u32> {
    u32::try_from(v)
        .map_err(|_| Error::invalid(what, format!("{v} does not fit the format's 32-bit sizes")))
}

fn be_u32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("test-file")
    }

    #[test]
    fn images_header_is_parsed() {
        let mut bytes = vec![0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 3];
        bytes.extend([1u8; 12]);
        let h = read_header(&bytes, IMAGES_MAGIC, p()).unwrap();
        assert_eq!(h.dims, vec![2, 2, 3]);
        assert_eq!(h.header_len, 16);
        assert_eq!(strip_header(bytes, &h), vec![1u8; 12]);
    }

    #[test]
    fn too_short_for_magic_is_truncated() {
        let err = read_header(&[0, 0], IMAGES_MAGIC, p()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    expected: 16,
                    actual: 2,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn labels_magic_in_images_slot_is_rejected() {
        let err = read_header(&[0, 0, 8, 1, 0, 0, 0, 0], IMAGES_MAGIC, p()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::BadMagic {
                    expected: IMAGES_MAGIC,
                    found: LABELS_MAGIC,
                    kind: "images",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("0x00000803"), "{err}");
    }

    #[test]
    fn huge_dimensions_do_not_overflow_or_panic() {
        let bytes = [
            0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255,
        ];
        let err = read_header(&bytes, IMAGES_MAGIC, p()).unwrap_err();
        assert!(matches!(err, Error::Truncated { .. }), "{err}");
    }

    #[test]
    fn trailing_bytes_are_reported() {
        let err = read_header(&[0, 0, 8, 1, 0, 0, 0, 1, 5, 6], LABELS_MAGIC, p()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("1 bytes too many"), "{err}");
    }

    #[test]
    fn broken_gzip_is_corrupt_not_panic() {
        let mut bytes = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3];
        bytes.extend([0xffu8; 20]);
        let err = gunzip_if_needed(bytes, p()).unwrap_err();
        assert!(matches!(err, Error::Corrupt { .. }), "{err}");
    }
}
