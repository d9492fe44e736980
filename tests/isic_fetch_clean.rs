//! `fetch_isic2016` against a loopback server with small ISIC-shaped archives: a clean
//! run, a re-run, an interrupted transfer, a run resumed after a failure, a 404.

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/isic_archives.rs"]
mod isic_archives;

use std::path::Path;

use http_server::{Served, TestServer};
use isic_archives::*;
use se05::io::download::DownloadOptions;
use se05::io::isic_fetch::{fetch_isic2016, isic2016_present, ExpectedCounts, FetchOptions};

const TRAIN_IDS: [u32; 3] = [0, 1, 3];
const TEST_IDS: [u32; 2] = [10, 14];

fn small_opts(max_retries: u32) -> FetchOptions {
    FetchOptions {
        download: DownloadOptions {
            show_progress: false,
            max_retries,
            ..DownloadOptions::default()
        },
        expected_counts: ExpectedCounts {
            train_images: 3,
            train_masks: 3,
            test_images: 2,
            test_masks: 2,
        },
    }
}

fn path(name: &str) -> String {
    format!("/2016/{name}.zip")
}

/// The four archives: three wrapped in a root folder (as ISIC ships them), one flat.
fn serve_all(server: &TestServer) {
    server.serve(&path(TRAIN_DATA), images_zip(&TRAIN_IDS, Some(TRAIN_DATA)));
    server.serve(
        &path(TRAIN_GT),
        masks_zip(&TRAIN_IDS, Some("some_other_root")),
    );
    server.serve(&path(TEST_DATA), images_zip(&TEST_IDS, None));
    server.serve(&path(TEST_GT), masks_zip(&TEST_IDS, Some(TEST_GT)));
}

fn sorted_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn assert_layout(datasets: &Path) {
    let root = datasets.join("isic2016");
    assert_eq!(
        sorted_names(&root),
        vec![TEST_DATA, TEST_GT, TRAIN_DATA, TRAIN_GT],
        "only the four folders (no staging left over)"
    );
    assert_eq!(
        sorted_names(&root.join(TRAIN_DATA)),
        vec!["ISIC_0000000.jpg", "ISIC_0000001.jpg", "ISIC_0000003.jpg"]
    );
    assert_eq!(
        sorted_names(&root.join(TRAIN_GT)),
        vec![
            "ISIC_0000000_Segmentation.png",
            "ISIC_0000001_Segmentation.png",
            "ISIC_0000003_Segmentation.png"
        ]
    );
    assert_eq!(
        sorted_names(&root.join(TEST_DATA)),
        vec!["ISIC_0000010.jpg", "ISIC_0000014.jpg"]
    );
    assert_eq!(
        sorted_names(&root.join(TEST_GT)),
        vec![
            "ISIC_0000010_Segmentation.png",
            "ISIC_0000014_Segmentation.png"
        ]
    );
    // Extracted bytes are the archived ones, and they decode.
    let jpg = std::fs::read(root.join(TRAIN_DATA).join("ISIC_0000003.jpg")).unwrap();
    assert_eq!(jpg, tiny_jpeg(3));
    let mask = image::open(root.join(TEST_GT).join("ISIC_0000014_Segmentation.png")).unwrap();
    assert_eq!((mask.width(), mask.height()), (6, 6));
}

#[test]
fn clean_run_then_rerun() {
    let server = TestServer::start();
    serve_all(&server);
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");
    assert!(!isic2016_present(&datasets));

    let report = fetch_isic2016(&datasets, &server.url("/2016/"), &small_opts(1)).unwrap();

    assert_layout(&datasets);
    assert_eq!((report.train_pairs, report.test_pairs), (3, 2));
    assert_eq!(report.archives.len(), 4);
    assert!(report
        .archives
        .iter()
        .all(|a| !a.reused() && a.zip_path.is_file()));
    assert_eq!(report.archives[1].files, 3);
    for name in [TRAIN_DATA, TRAIN_GT, TEST_DATA, TEST_GT] {
        assert!(datasets
            .join("downloads")
            .join(format!("{name}.zip"))
            .is_file());
    }
    assert!(isic2016_present(&datasets));
    let text = report.to_string();
    assert!(text.contains("3 training and 2 test"), "{text}");
    assert_eq!(server.requests().len(), 4);

    // A second run finds everything in place and downloads nothing.
    let again = fetch_isic2016(&datasets, &server.url("/2016"), &small_opts(1)).unwrap();
    assert!(again.archives.iter().all(|a| a.reused()));
    assert_eq!(server.requests().len(), 4);
    assert_layout(&datasets);
}

#[test]
fn interrupted_archive_download_is_resumed() {
    let server = TestServer::start();
    serve_all(&server);
    let big = images_zip(&TRAIN_IDS, Some(TRAIN_DATA));
    let cut = big.len() / 2;
    server.serve_with(
        &path(TRAIN_DATA),
        Served {
            body: big.clone(),
            cut_first_after: Some(cut),
            ..Served::default()
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    fetch_isic2016(&datasets, &server.url("/2016"), &small_opts(2)).unwrap();

    assert_layout(&datasets);
    let reqs = server.requests_for(&path(TRAIN_DATA));
    assert_eq!(reqs.len(), 2, "{reqs:?}");
    assert!(
        reqs[1].range.is_some(),
        "the retry resumes with a Range request"
    );
    assert_eq!(reqs[1].status, 206);
    let kept = std::fs::read(datasets.join("downloads").join(format!("{TRAIN_DATA}.zip")));
    assert_eq!(kept.unwrap(), big, "byte-identical archive");
}

#[test]
fn failed_run_is_resumed_by_the_next_one() {
    let server = TestServer::start();
    serve_all(&server);
    let body = images_zip(&TEST_IDS, None);
    server.serve_with(
        &path(TEST_DATA),
        Served {
            body: body.clone(),
            cut_first_after: Some(body.len() / 3),
            ..Served::default()
        },
    );
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    let err = fetch_isic2016(&datasets, &server.url("/2016"), &small_opts(0)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");
    assert!(msg.contains(&format!("{TEST_DATA}.zip")), "{msg}");
    // Nothing half-done is in place.
    assert!(!datasets.join("isic2016").join(TRAIN_DATA).exists());
    let part = datasets
        .join("downloads")
        .join(format!("{TEST_DATA}.zip.part"));
    let kept = std::fs::metadata(&part).unwrap().len();
    assert!(kept > 0);

    let report = fetch_isic2016(&datasets, &server.url("/2016"), &small_opts(0)).unwrap();
    assert_layout(&datasets);
    let test_data = &report.archives[2];
    assert_eq!(test_data.download.as_ref().unwrap().resumed_from, kept);
    // The archives finished on the first run were not fetched twice.
    assert_eq!(server.requests_for(&path(TRAIN_DATA)).len(), 1);
    assert!(
        report.archives[0]
            .download
            .as_ref()
            .unwrap()
            .already_present
    );
}

#[test]
fn missing_archive_is_a_clear_error() {
    let server = TestServer::start();
    serve_all(&server);
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    let err = fetch_isic2016(&datasets, &server.url("/wrong/"), &small_opts(1)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains(&format!("{TRAIN_DATA}.zip")), "{msg}");
    assert!(msg.contains("404"), "{msg}");
    assert!(!isic2016_present(&datasets));
}
