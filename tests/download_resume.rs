//! Interrupted transfers: retried within one call and resumed across calls with HTTP
//! `Range` requests; servers that ignore ranges; stale partial files.

#[path = "support/http_server.rs"]
mod http_server;

use http_server::{Served, TestServer};
use se05::io::download::{download_file, DownloadOptions};

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 253) as u8).collect()
}

fn quiet(max_retries: u32) -> DownloadOptions {
    DownloadOptions {
        show_progress: false,
        max_retries,
        ..DownloadOptions::default()
    }
}

#[test]
fn interrupted_transfer_is_retried_with_a_range_request() {
    let server = TestServer::start();
    let body = payload(400_000);
    server.serve_with(
        "/big.zip",
        Served {
            body: body.clone(),
            cut_first_after: Some(150_000),
            ..Served::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("big.zip");
    let opts = DownloadOptions {
        expected_size: Some(body.len() as u64),
        ..quiet(3)
    };

    let out = download_file(&server.url("/big.zip"), &dest, &opts).unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), body, "byte-identical");
    assert_eq!(out.bytes, body.len() as u64);
    let reqs = server.requests_for("/big.zip");
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert_eq!(reqs[0].range, None);
    let range = reqs[1]
        .range
        .as_deref()
        .expect("the retry carries a Range header");
    let start: u64 = range
        .strip_prefix("bytes=")
        .and_then(|r| r.strip_suffix('-'))
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("unexpected Range header {range:?}"));
    assert!(
        start > 0 && start <= 150_000,
        "resumes where it stopped: {start}"
    );
    assert_eq!(reqs[1].status, 206);
    assert!(!dir.path().join("big.zip.part").exists());
}

#[test]
fn partial_file_from_an_earlier_run_is_resumed() {
    let server = TestServer::start();
    let body = payload(200_000);
    server.serve_with(
        "/d.bin",
        Served {
            body: body.clone(),
            cut_first_after: Some(80_000),
            ..Served::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("d.bin");
    let url = server.url("/d.bin");

    // First run: no retries, so the cut ends it; the partial file stays.
    let err = download_file(&url, &dest, &quiet(0)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");
    assert!(msg.contains(&url) && msg.contains("resume"), "{msg}");
    assert!(!dest.exists());
    let kept = std::fs::metadata(dir.path().join("d.bin.part"))
        .unwrap()
        .len();
    assert!(kept > 0 && kept <= 80_000, "kept {kept} bytes");

    // Second run resumes from there.
    let out = download_file(&url, &dest, &quiet(0)).unwrap();
    assert_eq!(out.resumed_from, kept);
    assert!(!out.already_present);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let reqs = server.requests_for("/d.bin");
    assert_eq!(reqs.len(), 2);
    assert_eq!(
        reqs[1].range.as_deref(),
        Some(format!("bytes={kept}-").as_str())
    );
}

#[test]
fn server_ignoring_range_restarts_from_zero() {
    let server = TestServer::start();
    let body = payload(50_000);
    server.serve_with(
        "/n.bin",
        Served {
            body: body.clone(),
            ignore_range: true,
            ..Served::default()
        },
    );
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("n.bin");
    // A partial file whose bytes are wrong: appending to it would corrupt the result.
    std::fs::write(dir.path().join("n.bin.part"), vec![0xAA; 10_000]).unwrap();

    let out = download_file(&server.url("/n.bin"), &dest, &quiet(1)).unwrap();

    assert_eq!(out.resumed_from, 0, "a 200 reply means starting over");
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let reqs = server.requests_for("/n.bin");
    assert_eq!(reqs[0].range.as_deref(), Some("bytes=10000-"));
    assert_eq!(reqs[0].status, 200);
}

#[test]
fn partial_file_longer_than_the_remote_is_fetched_again() {
    let server = TestServer::start();
    let body = payload(20_000);
    server.serve("/l.bin", body.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("l.bin");
    std::fs::write(dir.path().join("l.bin.part"), vec![1u8; 30_000]).unwrap();

    let out = download_file(&server.url("/l.bin"), &dest, &quiet(2)).unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), body);
    let reqs = server.requests_for("/l.bin");
    assert_eq!(reqs[0].status, 416, "{reqs:?}");
    assert_eq!(reqs.last().unwrap().range, None, "{reqs:?}");
    assert_eq!(out.bytes, 20_000);
}

#[test]
fn complete_partial_file_is_finished_without_refetching() {
    let server = TestServer::start();
    let body = payload(20_000);
    server.serve("/c.bin", body.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c.bin");
    std::fs::write(dir.path().join("c.bin.part"), &body).unwrap();

    let out = download_file(&server.url("/c.bin"), &dest, &quiet(0)).unwrap();

    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(out.resumed_from, 20_000);
    let reqs = server.requests_for("/c.bin");
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].status, 416);
}
