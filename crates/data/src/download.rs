//! Downloading one file into a cache folder: temporary file, check, then rename.
//!
//! The file is streamed into a temporary `.<name>.XXXXXX.part` inside the cache folder
//! ([`crate::cache::AtomicFile`]), with a progress line
//! on stderr. Only when the whole body arrived (as many bytes as `Content-Length` announced)
//! and the caller's check accepted it is it renamed to `<name>`; on any error the temporary file
//! is removed, so the cache never holds a partial or unchecked file.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

use crate::cache::AtomicFile;
use crate::error::{Error, Result};

/// Why a download did not produce a file.
pub(crate) enum Failure {
    /// No connection could be made (no network, DNS failure, refused, unsupported scheme):
    /// the caller reports the data set as not found, with this reason.
    Unreachable(String),
    /// Anything else, already a complete error for the student.
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

/// An HTTP client with timeouts suited to a 26 MB file on a slow line.
pub(crate) fn agent() -> ureq::Agent {
    ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(15))
        .timeout_read(Duration::from_secs(60))
        .user_agent(concat!("cnnkit/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Joins a base URL and a file name with exactly one `/` between them.
pub(crate) fn join_url(base: &str, file: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), file)
}

/// Downloads `url` to `dest` (a path inside the cache folder) through a temporary file.
///
/// `check` receives the downloaded bytes (read back from the temporary file) and returns what
/// the caller wants to keep from them, or an error; only when it succeeds is the temporary file
/// renamed to `dest`.
pub(crate) fn download<T>(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    progress: bool,
    check: impl FnOnce(Vec<u8>) -> Result<T>,
) -> std::result::Result<T, Failure> {
    let response = match agent.get(url).call() {
        Ok(r) => r,
        Err(ureq::Error::Status(status, r)) => {
            return Err(Failure::Error(Error::Http {
                status,
                status_text: r.status_text().to_string(),
                url: url.to_string(),
            }))
        }
        Err(ureq::Error::Transport(t)) => {
            use ureq::ErrorKind::{BadHeader, BadStatus, TooManyRedirects};
            return Err(match t.kind() {
                // The server answered, but not with a usable HTTP response.
                BadStatus | BadHeader | TooManyRedirects => Failure::Error(Error::Download {
                    url: url.to_string(),
                    why: format!("the server's answer is not usable ({t})"),
                }),
                // No connection (offline, DNS, refused, https without TLS support, ...).
                _ => Failure::Unreachable(format!("could not reach the server ({t})")),
            });
        }
    };
    let total: Option<u64> = response
        .header("Content-Length")
        .and_then(|v| v.trim().parse().ok());

    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "download".to_string());
    let mut temp = AtomicFile::create(dest)?;
    let temp_path = temp.path().to_path_buf();
    let file = temp.file();

    let failed = |why: String| {
        Failure::Error(Error::Download {
            url: url.to_string(),
            why,
        })
    };
    let mut reader = response.into_reader();
    let mut buffer = vec![0u8; 256 << 10];
    let mut received: u64 = 0;
    let mut meter = Progress::new(&name, total, progress);
    loop {
        let got = match reader.read(&mut buffer) {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                meter.finish();
                return Err(failed(match total {
                    Some(total) => {
                        format!("the connection broke after {received} of {total} bytes ({e})")
                    }
                    None => format!("the connection broke after {received} bytes ({e})"),
                }));
            }
        };
        file.write_all(&buffer[..got])
            .map_err(|e| Error::io("write", &temp_path, e))?;
        received += got as u64;
        meter.update(received);
    }
    meter.finish();
    if let Some(total) = total
        && received != total
    {
        return Err(failed(format!(
            "the server announced {total} bytes but sent {received}"
        )));
    }
    file.flush()
        .map_err(|e| Error::io("write", &temp_path, e))?;

    let bytes = std::fs::read(&temp_path).map_err(|e| Error::io("read", &temp_path, e))?;
    let kept = check(bytes)?;
    temp.commit()?;
    Ok(kept)
}

/// `26.4 MB`, `29.5 KB`.
fn size(bytes: u64) -> String {
    if bytes >= 1_000_000 {
        format!("{:.1} MB", bytes as f64 / 1e6)
    } else {
        format!("{:.1} KB", bytes as f64 / 1e3)
    }
}

/// The progress line: `downloading train-images-idx3-ubyte.gz:  45% (11.9 of 26.4 MB)`,
/// redrawn in place (`\r`) whenever the whole percentage (or, without a size, each MB) changes.
struct Progress<'a> {
    name: &'a str,
    total: Option<u64>,
    on: bool,
    last_step: Option<u64>,
}

impl<'a> Progress<'a> {
    fn new(name: &'a str, total: Option<u64>, on: bool) -> Self {
        Progress {
            name,
            total,
            on,
            last_step: None,
        }
    }

    fn update(&mut self, received: u64) {
        if !self.on {
            return;
        }

        let (step, line) = match self.total {
            Some(total) if total > 0 => {
                let percent = received.saturating_mul(100) / total;
                (
                    percent,
                    format!(
                        "downloading {}: {percent:>3}% ({} of {})",
                        self.name,
                        size(received),
                        size(total)
                    ),
                )
            }
            _ => (
                received / 1_000_000,
                format!("downloading {}: {}", self.name, size(received)),
            ),
        };
        if self.last_step != Some(step) {
            self.last_step = Some(step);
            // Standard output, not standard error: the headless notebook runner treats any
            // stderr text as a failed cell. `print!`, not a raw handle, so that test
            // harnesses and notebook kernels capture it.
            print!("\r{line}");
            let _ = std::io::Write::flush(&mut std::io::stdout());
        }
    }

    fn finish(&mut self) {
        if self.on && self.last_step.is_some() {
            println!();
        }
        self.on = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_url_puts_one_slash() {
        assert_eq!(join_url("http://a/b/", "f.gz"), "http://a/b/f.gz");
        assert_eq!(join_url("http://a/b", "f.gz"), "http://a/b/f.gz");
    }

    #[test]
    fn sizes_are_shown_in_kb_or_mb() {
        assert_eq!(size(29_515), "29.5 KB");
        assert_eq!(size(26_421_880), "26.4 MB");
    }
}
