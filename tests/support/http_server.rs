//! A tiny HTTP/1.1 file server on 127.0.0.1 for the download tests.
//!
//! It serves byte buffers at fixed paths, honours `Range: bytes=START-[END]` (206 with
//! `Content-Range`, 416 past the end), can cut a response after N body bytes on the
//! first request for a path (the headers still announce the full length, so the client
//! sees a broken transfer), can ignore `Range` (answering 200 with the whole file), and
//! records every request it receives. One connection per request (`Connection: close`).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How one path is served.
#[derive(Clone, Debug, Default)]
pub struct Served {
    pub body: Vec<u8>,
    /// On the first request for this path, send only this many body bytes, then close.
    pub cut_first_after: Option<usize>,
    /// Answer every request with 200 and the whole body, whatever `Range` says.
    pub ignore_range: bool,
}

/// One request as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The `Range` header's value, if any.
    pub range: Option<String>,
    /// The status code answered.
    pub status: u16,
}

#[derive(Default)]
struct State {
    files: HashMap<String, Served>,
    log: Vec<Logged>,
}

pub struct TestServer {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    pub fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let st = st.clone();
                std::thread::spawn(move || {
                    let _ = handle(conn, &st);
                });
            }
        });
        TestServer {
            addr,
            state,
            stop,
            thread: Some(thread),
        }
    }

    /// Serve `body` at `path` (which starts with `/`).
    pub fn serve(&self, path: &str, body: Vec<u8>) {
        self.serve_with(
            path,
            Served {
                body,
                ..Served::default()
            },
        );
    }

    pub fn serve_with(&self, path: &str, served: Served) {
        self.state
            .lock()
            .unwrap()
            .files
            .insert(path.to_string(), served);
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url(), path)
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().unwrap().log.clone()
    }

    /// The requests for one path.
    pub fn requests_for(&self, path: &str) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path)
            .collect()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `bytes=START-` or `bytes=START-END` → (START, optional END inclusive).
fn parse_range(value: &str) -> Option<(usize, Option<usize>)> {
    let spec = value.trim().strip_prefix("bytes=")?;
    let (start, end) = spec.split_once('-')?;
    let start = start.trim().parse().ok()?;
    let end = match end.trim() {
        "" => None,
        e => Some(e.parse().ok()?),
    };
    Some((start, end))
}

fn handle(stream: TcpStream, state: &Mutex<State>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let path = parts.next().unwrap_or("").to_string();
    let mut range = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            break;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            if name.trim().eq_ignore_ascii_case("range") {
                range = Some(value.trim().to_string());
            }
        }
    }

    // Decide the reply under the lock, write it outside.
    let (status, headers, body, cut) = {
        let mut st = state.lock().unwrap();
        let earlier = st.log.iter().filter(|r| r.path == path).count();
        let reply = match st.files.get(&path) {
            None => (404, vec![], b"not found".to_vec(), None),
            Some(served) => {
                let len = served.body.len();
                let cut = if earlier == 0 {
                    served.cut_first_after
                } else {
                    None
                };
                match range.as_deref().and_then(parse_range) {
                    Some((start, end)) if !served.ignore_range => {
                        if start >= len {
                            (
                                416,
                                vec![format!("Content-Range: bytes */{len}")],
                                vec![],
                                None,
                            )
                        } else {
                            let end = end.unwrap_or(len - 1).min(len - 1);
                            (
                                206,
                                vec![format!("Content-Range: bytes {start}-{end}/{len}")],
                                served.body[start..=end].to_vec(),
                                cut,
                            )
                        }
                    }
                    _ => (200, vec![], served.body.clone(), cut),
                }
            }
        };
        st.log.push(Logged {
            method: method.clone(),
            path: path.clone(),
            range: range.clone(),
            status: reply.0,
        });
        reply
    };

    let reason = match status {
        200 => "OK",
        206 => "Partial Content",
        404 => "Not Found",
        416 => "Range Not Satisfiable",
        _ => "Whatever",
    };
    let mut head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\n\
         Content-Type: application/octet-stream\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(&h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        let n = cut.unwrap_or(body.len()).min(body.len());
        stream.write_all(&body[..n])?;
    }
    stream.flush()?;
    // Closing here (after a cut: before the announced length) ends the transfer.
    let _ = stream.shutdown(Shutdown::Both);
    Ok(())
}
