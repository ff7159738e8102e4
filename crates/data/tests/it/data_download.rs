//! The download path, against an HTTP server on 127.0.0.1 started by each test (a thread with
//! hand-written HTTP/1.1 answers, a bounded number of requests): good files, a corrupt file,
//! an interrupted body, a 404, a server that is not there. Nothing leaves the machine.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cnnkit_data::Error;
use cnnkit_data::{idx, sha256_hex, FashionMnist, Loader, DEBIAN_DIR, FILES};

// ---- fixtures -----------------------------------------------------------------------------

use crate::common::TempDir;

/// Decompressed bytes of a tiny data set (labels `i % 10`), in [`FILES`] order.
fn tiny_dataset(n_train: usize, n_test: usize) -> [Vec<u8>; 4] {
    let images = |n: usize| {
        let pixels: Vec<u8> = (0..n * 784).map(|k| (k % 251) as u8).collect();
        idx::encode_images(&pixels, n, 28, 28).unwrap()
    };
    let labels = |n: usize| {
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        idx::encode_labels(&labels).unwrap()
    };
    [
        images(n_train),
        labels(n_train),
        images(n_test),
        labels(n_test),
    ]
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(bytes).unwrap();
    gz.finish().unwrap()
}

fn digests(files: &[Vec<u8>; 4]) -> [String; 4] {
    [0, 1, 2, 3].map(|i| sha256_hex(&files[i]))
}

/// The names in a folder, sorted (empty if it does not exist).
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

// ---- the loopback server ------------------------------------------------------------------

#[derive(Clone)]
enum Reply {
    /// 200 with this body.
    Body(Vec<u8>),
    /// 200 announcing `announced` bytes, sending `body`, then closing the connection.
    CutShort { body: Vec<u8>, announced: usize },
}

struct Server {
    base_url: String,
    /// Paths requested so far.
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// Serves `routes` (path -> reply; anything else gets a 404) for at most `max_requests`
/// connections, then stops listening.
fn serve(routes: HashMap<String, Reply>, max_requests: usize) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base_url = format!("http://{}/files/", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(max_requests) {
            let Ok(mut stream) = stream else { continue };
            stream
                .set_read_timeout(Some(Duration::from_secs(5)))
                .unwrap();
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
            log.lock().unwrap().push(path.clone());
            let (status, body, announced) = match routes.get(&path) {
                Some(Reply::Body(b)) => ("200 OK", b.clone(), b.len()),
                Some(Reply::CutShort { body, announced }) => ("200 OK", body.clone(), *announced),
                None => {
                    let b = b"<html><body>Not Found</body></html>".to_vec();
                    let n = b.len();
                    ("404 Not Found", b, n)
                }
            };
            let header = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {announced}\r\n\
                 Content-Type: application/octet-stream\r\nConnection: close\r\n\r\n"
            );
            let _ = stream.write_all(header.as_bytes());
            let _ = stream.write_all(&body);
            let _ = stream.flush();
        }
    });
    Server { base_url, requests }
}

/// Routes serving `files` gzip-compressed under `/files/<name>.gz`.
fn routes_for(files: &[Vec<u8>; 4]) -> HashMap<String, Reply> {
    FILES
        .iter()
        .zip(files)
        .map(|(stem, bytes)| (format!("/files/{stem}.gz"), Reply::Body(gzip(bytes))))
        .collect()
}

/// A loader that searches only `cache` and downloads from `server`.
fn loader(cache: &Path, server: &Server, files: &[Vec<u8>; 4]) -> Loader {
    Loader::new()
        .system_dirs(false)
        .cache_dir(cache)
        .base_url(&server.base_url)
        .checksums(digests(files))
        .progress(false)
}

const CACHED: [&str; 4] = [
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
];

// ---- tests --------------------------------------------------------------------------------

#[test]
fn download_fills_the_cache_and_the_second_load_stays_offline() {
    let tmp = TempDir::new("dl-good");
    let cache = tmp.0.join("cache");
    let files = tiny_dataset(20, 10);
    let server = serve(routes_for(&files), 4);

    let first = loader(&cache, &server, &files)
        .progress(true)
        .load()
        .unwrap();
    assert_eq!((first.train.len(), first.test.len()), (20, 10));
    assert_eq!(server.count(), 4);
    assert_eq!(
        listing(&cache),
        CACHED,
        "final files only, no temporary file"
    );

    // The server has stopped after 4 requests: a second download attempt would fail.
    let second = loader(&cache, &server, &files).load().unwrap();
    assert_eq!(server.count(), 4, "the second load downloaded again");
    assert_eq!(first, second);
}

#[test]
fn only_files_missing_from_the_cache_are_downloaded() {
    let tmp = TempDir::new("dl-partial");
    let cache = tmp.0.join("cache");
    std::fs::create_dir_all(&cache).unwrap();
    let files = tiny_dataset(5, 5);
    // A previous run got the training files (one kept decompressed).
    std::fs::write(cache.join("train-images-idx3-ubyte"), &files[0]).unwrap();
    std::fs::write(cache.join("train-labels-idx1-ubyte.gz"), gzip(&files[1])).unwrap();
    let server = serve(routes_for(&files), 4);
    let data = loader(&cache, &server, &files).load().unwrap();
    assert_eq!(data.test.len(), 5);
    let mut asked = server.requests.lock().unwrap().clone();
    asked.sort();
    assert_eq!(
        asked,
        [
            "/files/t10k-images-idx3-ubyte.gz",
            "/files/t10k-labels-idx1-ubyte.gz"
        ]
    );
}

#[test]
fn corrupt_download_is_rejected_and_leaves_the_cache_untouched() {
    let tmp = TempDir::new("dl-corrupt");
    let cache = tmp.0.join("cache");
    let files = tiny_dataset(8, 4);
    let mut routes = routes_for(&files);
    // Same size, valid gzip and IDX header, one pixel changed: only the checksum can tell.
    let mut damaged = files[0].clone();
    damaged[500] ^= 0xff;
    routes.insert(
        "/files/train-images-idx3-ubyte.gz".into(),
        Reply::Body(gzip(&damaged)),
    );
    let server = serve(routes, 4);
    let err = loader(&cache, &server, &files).load().unwrap_err();
    match &err {
        Error::ChecksumMismatch {
            expected, actual, ..
        } => {
            assert_eq!(expected, &sha256_hex(&files[0]));
            assert_eq!(actual, &sha256_hex(&damaged));
        }
        other => panic!("expected ChecksumMismatch, got {other:?}"),
    }
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains("left untouched"), "{text}");
    assert!(text.contains("train-images-idx3-ubyte.gz"), "{text}");
    assert_eq!(listing(&cache), Vec::<String>::new(), "cache was modified");
}

#[test]
fn corrupt_later_file_keeps_earlier_good_files_only() {
    let tmp = TempDir::new("dl-corrupt-late");
    let cache = tmp.0.join("cache");
    let files = tiny_dataset(8, 4);
    let mut routes = routes_for(&files);
    let mut damaged = files[3].clone();
    damaged[8] = 7;
    routes.insert(
        "/files/t10k-labels-idx1-ubyte.gz".into(),
        Reply::Body(gzip(&damaged)),
    );
    let server = serve(routes, 4);
    let err = loader(&cache, &server, &files).load().unwrap_err();
    assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err:?}");
    assert_eq!(
        listing(&cache),
        [
            "t10k-images-idx3-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
}

#[test]
fn interrupted_download_is_a_clear_error_and_leaves_nothing() {
    let tmp = TempDir::new("dl-cut");
    let cache = tmp.0.join("cache");
    let files = tiny_dataset(50, 4);
    let mut routes = routes_for(&files);
    let gz = gzip(&files[0]);
    let sent = gz.len() / 2;
    routes.insert(
        "/files/train-images-idx3-ubyte.gz".into(),
        Reply::CutShort {
            body: gz[..sent].to_vec(),
            announced: gz.len(),
        },
    );
    let server = serve(routes, 4);
    let err = loader(&cache, &server, &files).load().unwrap_err();
    let Error::Download { url, why } = &err else {
        panic!("expected Download, got {err:?}");
    };
    assert!(url.ends_with("/files/train-images-idx3-ubyte.gz"), "{url}");
    assert!(why.contains(&format!("{sent} of {}", gz.len())), "{why}");
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains("The partial file was deleted"), "{text}");
    assert_eq!(
        listing(&cache),
        Vec::<String>::new(),
        "partial file left behind"
    );
}

#[test]
fn http_404_names_status_and_url() {
    let tmp = TempDir::new("dl-404");
    let cache = tmp.0.join("cache");
    let files = tiny_dataset(2, 2);
    let server = serve(HashMap::new(), 4);
    let err = loader(&cache, &server, &files).load().unwrap_err();
    let Error::Http {
        status,
        status_text,
        url,
    } = &err
    else {
        panic!("expected Http, got {err:?}");
    };
    assert_eq!(*status, 404);
    assert_eq!(status_text, "Not Found");
    assert_eq!(
        url,
        &format!("{}train-images-idx3-ubyte.gz", server.base_url)
    );
    eprintln!("{err}");
    assert!(err.to_string().contains("HTTP 404 Not Found"), "{err}");
    assert_eq!(listing(&cache), Vec::<String>::new());
}

#[test]
fn a_web_page_instead_of_the_data_is_rejected() {
    let tmp = TempDir::new("dl-html");
    let cache = tmp.0.join("cache");
    let files = tiny_dataset(2, 2);
    let mut routes = routes_for(&files);
    routes.insert(
        "/files/train-images-idx3-ubyte.gz".into(),
        Reply::Body(b"<!DOCTYPE html><html>captive portal</html>".to_vec()),
    );
    let server = serve(routes, 4);
    let err = loader(&cache, &server, &files).load().unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }), "{err:?}");
    assert_eq!(listing(&cache), Vec::<String>::new());
}

#[test]
fn unreachable_server_reports_not_found_with_install_hint() {
    let tmp = TempDir::new("dl-refused");
    // A port that was free a moment ago and has no listener now.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let err = Loader::new()
        .system_dirs(false)
        .cache_dir(tmp.0.join("cache"))
        .base_url(format!("http://127.0.0.1:{port}/"))
        .progress(false)
        .load()
        .unwrap_err();
    let Error::DatasetNotFound { reason, .. } = &err else {
        panic!("expected DatasetNotFound, got {err:?}");
    };
    eprintln!("{err}");
    assert!(reason.contains("could not reach"), "{reason}");
    assert!(
        err.to_string()
            .contains("sudo apt-get install dataset-fashion-mnist"),
        "{err}"
    );
}

#[test]
fn real_files_served_over_loopback_pass_the_built_in_checksums() {
    // Checks the hard-coded SHA-256 digests through the whole download path, with the real
    // Debian files standing in for the upstream server.
    if !Path::new(DEBIAN_DIR)
        .join("t10k-labels-idx1-ubyte.gz")
        .exists()
    {
        eprintln!(
            "skipped: {DEBIAN_DIR} not installed (sudo apt-get install dataset-fashion-mnist)"
        );
        return;
    }
    let tmp = TempDir::new("dl-real");
    let cache = tmp.0.join("cache");
    let routes = FILES
        .iter()
        .map(|stem| {
            let bytes = std::fs::read(Path::new(DEBIAN_DIR).join(format!("{stem}.gz"))).unwrap();
            (format!("/files/{stem}.gz"), Reply::Body(bytes))
        })
        .collect();
    let server = serve(routes, 4);
    let data = Loader::new()
        .system_dirs(false)
        .cache_dir(&cache)
        .base_url(&server.base_url)
        .load()
        .unwrap();
    assert_eq!((data.train.len(), data.test.len()), (60_000, 10_000));
    assert_eq!(listing(&cache), CACHED);
    assert_eq!(data, FashionMnist::load_from(&cache).unwrap());
}
