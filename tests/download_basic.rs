//! `download_file` against a loopback server: clean download, already present, wrong
//! hash, wrong size, 404.

#[path = "support/http_server.rs"]
mod http_server;

use http_server::TestServer;
use se05::io::download::{download_file, sha256_file, DownloadOptions};
use sha2::{Digest, Sha256};

/// Bytes that are not all alike, so that misplaced ranges would show.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn quiet() -> DownloadOptions {
    DownloadOptions {
        show_progress: false,
        max_retries: 2,
        ..DownloadOptions::default()
    }
}

#[test]
fn clean_download_checks_size_and_hash() {
    let server = TestServer::start();
    let body = payload(300_000);
    server.serve("/files/model.bin", body.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("sub/model.bin");
    let opts = DownloadOptions {
        sha256_prefix: Some(hex_sha256(&body)[..12].to_uppercase()),
        expected_size: Some(body.len() as u64),
        ..quiet()
    };

    let out = download_file(&server.url("/files/model.bin"), &dest, &opts).unwrap();

    assert_eq!(out.path, dest);
    assert_eq!(out.bytes, body.len() as u64);
    assert_eq!(out.resumed_from, 0);
    assert!(!out.already_present);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert!(!dir.path().join("sub/model.bin.part").exists());
    assert_eq!(sha256_file(&dest).unwrap(), hex_sha256(&body));
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].range, None);
}

#[test]
fn existing_file_with_matching_hash_is_not_fetched_again() {
    let server = TestServer::start();
    let body = payload(5_000);
    server.serve("/a.bin", body.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.bin");
    std::fs::write(&dest, &body).unwrap();
    let opts = DownloadOptions {
        sha256_prefix: Some(hex_sha256(&body)),
        ..quiet()
    };

    let out = download_file(&server.url("/a.bin"), &dest, &opts).unwrap();

    assert!(out.already_present);
    assert_eq!(out.bytes, 5_000);
    assert!(server.requests().is_empty(), "no request expected");
}

#[test]
fn existing_file_with_wrong_hash_is_replaced() {
    let server = TestServer::start();
    let body = payload(5_000);
    server.serve("/a.bin", body.clone());
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("a.bin");
    std::fs::write(&dest, b"stale contents").unwrap();
    let opts = DownloadOptions {
        sha256_prefix: Some(hex_sha256(&body)[..16].to_string()),
        ..quiet()
    };

    let out = download_file(&server.url("/a.bin"), &dest, &opts).unwrap();

    assert!(!out.already_present);
    assert_eq!(std::fs::read(&dest).unwrap(), body);
    assert_eq!(server.requests().len(), 1);
}

#[test]
fn wrong_hash_is_an_error_and_leaves_no_file() {
    let server = TestServer::start();
    server.serve("/w.bin", payload(10_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("w.bin");
    let opts = DownloadOptions {
        sha256_prefix: Some("0123456789abcdef".into()),
        ..quiet()
    };

    let err = download_file(&server.url("/w.bin"), &dest, &opts).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains("w.bin"), "names the file: {msg}");
    assert!(
        msg.contains("0123456789abcdef"),
        "names the expected hash: {msg}"
    );
    assert!(
        msg.contains(&hex_sha256(&payload(10_000))),
        "names the actual hash: {msg}"
    );
    assert!(msg.contains("again"), "says what to do: {msg}");
    assert!(!dest.exists());
    assert!(!dir.path().join("w.bin.part").exists());
}

#[test]
fn wrong_size_is_an_error_and_leaves_no_file() {
    let server = TestServer::start();
    server.serve("/s.bin", payload(1_000));
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("s.bin");
    let opts = DownloadOptions {
        expected_size: Some(999),
        ..quiet()
    };

    let err = download_file(&server.url("/s.bin"), &dest, &opts).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains("1000") && msg.contains("999"), "{msg}");
    assert!(!dest.exists());
    assert!(!dir.path().join("s.bin.part").exists());
}

#[test]
fn not_found_is_a_clear_error_without_retries() {
    let server = TestServer::start();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("missing.zip");
    let url = server.url("/nope/missing.zip");

    let err = download_file(&url, &dest, &quiet()).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains(&url), "names the URL: {msg}");
    assert!(msg.contains("404"), "gives the status: {msg}");
    assert_eq!(server.requests().len(), 1, "a 404 is not retried");
    assert!(!dest.exists());
}

#[test]
fn unreachable_server_is_a_clear_error() {
    // Bind then drop, so that nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{port}/x.bin");
    let opts = DownloadOptions {
        max_retries: 1,
        ..quiet()
    };

    let err = download_file(&url, &dir.path().join("x.bin"), &opts).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains(&url), "names the URL: {msg}");
    assert!(msg.contains("again"), "says what to do: {msg}");
}
