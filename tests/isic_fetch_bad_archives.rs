//! `fetch_isic2016` refuses damaged and hostile archives and unpaired images, and
//! leaves nothing behind in the data set folder (nor anywhere outside it).

#[path = "support/http_server.rs"]
mod http_server;
#[path = "support/isic_archives.rs"]
mod isic_archives;

use std::path::{Path, PathBuf};

use http_server::TestServer;
use isic_archives::*;
use se05::io::download::DownloadOptions;
use se05::io::isic_fetch::{fetch_isic2016, ExpectedCounts, FetchOptions};

fn opts(train: usize, test: usize) -> FetchOptions {
    FetchOptions {
        download: DownloadOptions {
            show_progress: false,
            max_retries: 1,
            ..DownloadOptions::default()
        },
        expected_counts: ExpectedCounts {
            train_images: train,
            train_masks: train,
            test_images: test,
            test_masks: test,
        },
    }
}

fn path(name: &str) -> String {
    format!("/2016/{name}.zip")
}

fn serve_good(server: &TestServer) {
    server.serve(&path(TRAIN_DATA), images_zip(&[1, 2], Some(TRAIN_DATA)));
    server.serve(&path(TRAIN_GT), masks_zip(&[1, 2], Some(TRAIN_GT)));
    server.serve(&path(TEST_DATA), images_zip(&[5], Some(TEST_DATA)));
    server.serve(&path(TEST_GT), masks_zip(&[5], Some(TEST_GT)));
}

/// Every file under `dir`, recursively.
fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The data set folder holds nothing (no extracted folder, no staging left behind).
fn assert_nothing_extracted(datasets: &Path) {
    let root = datasets.join("isic2016");
    let left: Vec<_> = std::fs::read_dir(&root)
        .map(|rd| rd.map(|e| e.unwrap().file_name()).collect())
        .unwrap_or_default();
    assert!(left.is_empty(), "left in {}: {left:?}", root.display());
}

#[test]
fn corrupt_archive_fails_its_crc_check() {
    let server = TestServer::start();
    serve_good(&server);
    let mut bad = images_zip_stored(&[1, 2], Some(TRAIN_DATA));
    flip_byte_in(&mut bad, &tiny_jpeg(2));
    server.serve(&path(TRAIN_DATA), bad);
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    let err = fetch_isic2016(&datasets, &server.url("/2016"), &opts(2, 1)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(
        msg.contains(&format!("{TRAIN_DATA}.zip")),
        "names the archive: {msg}"
    );
    assert!(msg.contains("ISIC_0000002.jpg"), "names the entry: {msg}");
    assert!(msg.contains("CRC"), "says what is wrong: {msg}");
    assert!(msg.contains("again"), "says what to do: {msg}");
    assert_nothing_extracted(&datasets);
    // The damaged download is dropped so that the next run fetches it afresh.
    assert!(!datasets
        .join("downloads")
        .join(format!("{TRAIN_DATA}.zip"))
        .exists());
}

#[test]
fn truncated_zip_is_reported_as_corrupt() {
    let server = TestServer::start();
    serve_good(&server);
    server.serve(
        &path(TEST_GT),
        b"PK\x03\x04 definitely not a whole zip".to_vec(),
    );
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    let err = fetch_isic2016(&datasets, &server.url("/2016"), &opts(2, 1)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(
        msg.contains(&format!("{TEST_GT}.zip")) && msg.contains("corrupt"),
        "{msg}"
    );
    assert_nothing_extracted(&datasets);
}

fn assert_hostile_refused(entry_name: &str, items: Vec<Item>, must_not_exist: &[PathBuf]) {
    let server = TestServer::start();
    serve_good(&server);
    server.serve(&path(TRAIN_GT), build_zip(&items, false));
    let datasets = must_not_exist[0].parent().unwrap().join("datasets");

    let err = fetch_isic2016(&datasets, &server.url("/2016"), &opts(2, 1)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(
        msg.contains(&format!("{TRAIN_GT}.zip")),
        "names the archive: {msg}"
    );
    assert!(
        msg.contains(entry_name),
        "names the entry {entry_name:?}: {msg}"
    );
    for p in must_not_exist {
        assert!(!p.exists(), "{} was written", p.display());
    }
    assert_nothing_extracted(&datasets);
    // Only the downloaded archives exist anywhere under the scratch folder.
    let top = datasets.parent().unwrap();
    for f in all_files(top) {
        let rel = f.strip_prefix(&datasets).unwrap_or(&f);
        assert!(
            rel.starts_with("downloads"),
            "unexpected file {}",
            f.display()
        );
    }
}

fn masks_with(extra: Item) -> Vec<Item> {
    vec![
        Item::Dir(format!("{TRAIN_GT}/")),
        Item::File(
            format!("{TRAIN_GT}/ISIC_0000001_Segmentation.png"),
            tiny_png(1),
        ),
        extra,
        Item::File(
            format!("{TRAIN_GT}/ISIC_0000002_Segmentation.png"),
            tiny_png(2),
        ),
    ]
}

#[test]
fn parent_dir_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let name = "../../evil_Segmentation.png";
    let items = masks_with(Item::File(name.into(), b"pwned".to_vec()));
    let outside = [
        tmp.path().join("evil_Segmentation.png"),
        tmp.path().join("datasets/evil_Segmentation.png"),
        tmp.path().join("datasets/isic2016/evil_Segmentation.png"),
    ];
    assert_hostile_refused(name, items, &outside);
}

#[test]
fn nested_parent_dir_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("{TRAIN_GT}/../../../evil");
    let items = masks_with(Item::File(name.clone(), b"pwned".to_vec()));
    assert_hostile_refused(&name, items, &[tmp.path().join("evil")]);
}

#[test]
fn absolute_path_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let target = tmp.path().join("absolute_evil.png");
    let name = target.to_string_lossy().into_owned();
    assert!(name.starts_with('/'));
    let items = masks_with(Item::File(name.clone(), b"pwned".to_vec()));
    assert_hostile_refused(&name, items, &[target]);
}

#[test]
fn symlink_entry_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let name = format!("{TRAIN_GT}/link_Segmentation.png");
    let items = masks_with(Item::Symlink(name.clone(), "/etc/passwd".into()));
    assert_hostile_refused(&name, items, &[tmp.path().join("link_Segmentation.png")]);
}

#[test]
fn image_without_mask_is_refused() {
    let server = TestServer::start();
    serve_good(&server);
    server.serve(&path(TRAIN_DATA), images_zip(&[1, 2, 7], Some(TRAIN_DATA)));
    server.serve(&path(TRAIN_GT), masks_zip(&[1, 2, 8], Some(TRAIN_GT)));
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    let err = fetch_isic2016(&datasets, &server.url("/2016"), &opts(3, 1)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains("ISIC_0000007.jpg"), "names the image: {msg}");
    assert!(
        msg.contains("ISIC_0000007_Segmentation.png"),
        "names the mask: {msg}"
    );
    assert!(msg.contains("no mask"), "{msg}");
    assert_nothing_extracted(&datasets);
}

#[test]
fn wrong_file_count_is_refused() {
    let server = TestServer::start();
    serve_good(&server);
    let tmp = tempfile::tempdir().unwrap();
    let datasets = tmp.path().join("datasets");

    // The archives hold 2 training pairs; 900 are expected.
    let err = fetch_isic2016(&datasets, &server.url("/2016"), &opts(900, 1)).unwrap_err();
    let msg = format!("{err:#}");
    println!("{msg}");

    assert!(msg.contains(&format!("{TRAIN_DATA}.zip")), "{msg}");
    assert!(msg.contains("2 images") && msg.contains("900"), "{msg}");
    assert_nothing_extracted(&datasets);
}
