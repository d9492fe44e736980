//! The shared stdout/stderr pipe, drained all the time: the first and last bytes
//! kept, the rest only counted, so the program never blocks on a full pipe.
use super::*;

/// Keeps the first and last `keep` bytes of the stream and counts the rest.
pub(super) struct Collector {
    pub(super) keep: usize,
    pub(super) head: Vec<u8>,
    pub(super) tail: VecDeque<u8>,
    pub(super) total: u64,
}

impl Collector {
    fn new(keep: usize) -> Collector {
        Collector {
            keep,
            head: Vec::new(),
            tail: VecDeque::new(),
            total: 0,
        }
    }

    fn push(&mut self, mut data: &[u8]) {
        self.total += data.len() as u64;
        if self.head.len() < self.keep {
            let take = (self.keep - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        if data.len() >= self.keep {
            self.tail.clear();
            self.tail.extend(&data[data.len() - self.keep..]);
        } else {
            let excess = (self.tail.len() + data.len()).saturating_sub(self.keep);
            self.tail.drain(..excess);
            self.tail.extend(data);
        }
    }

    fn finish(self) -> Output {
        let tail: Vec<u8> = self.tail.into_iter().collect();
        let cut = self.total - self.head.len() as u64 - tail.len() as u64;
        if cut == 0 {
            let mut all = self.head;
            all.extend_from_slice(&tail);
            return Output {
                head: String::from_utf8_lossy(&all).into_owned(),
                tail: String::new(),
                total_bytes: self.total,
                cut_bytes: 0,
            };
        }
        // Drop a character split by the cut rather than show replacement marks.
        let mut head = &self.head[..];
        if let Err(e) = std::str::from_utf8(head) {
            if e.error_len().is_none() {
                head = &head[..e.valid_up_to()];
            }
        }
        let skip = tail
            .iter()
            .take(3)
            .take_while(|b| (**b & 0xC0) == 0x80)
            .count();
        let tail = &tail[skip..];
        Output {
            head: String::from_utf8_lossy(head).into_owned(),
            tail: String::from_utf8_lossy(tail).into_owned(),
            total_bytes: self.total,
            cut_bytes: self.total - head.len() as u64 - tail.len() as u64,
        }
    }
}

/// Reads the output pipe until end of file; once `stop` is set (the run is over) it
/// gives the pipe [`OUTPUT_GRACE`] to close. Returns the output and whether the pipe
/// was still open then.
pub(super) fn drain_output(
    pipe: OwnedFd,
    keep: usize,
    echo: u64,
    stop: &AtomicBool,
) -> (Output, bool) {
    let mut collector = Collector::new(keep);
    let mut echoed = 0u64;
    let mut echo_carry = Vec::new();
    let mut buf = vec![0u8; 64 << 10];
    let mut give_up_at: Option<Instant> = None;
    let escaped = loop {
        if give_up_at.is_none() && stop.load(Ordering::Relaxed) {
            give_up_at = Some(Instant::now() + OUTPUT_GRACE);
        }
        if give_up_at.is_some_and(|t| Instant::now() >= t) {
            break true;
        }
        let mut pfd = libc::pollfd {
            fd: pipe.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let r = unsafe { libc::poll(&mut pfd, 1, 50) };
        if r <= 0 {
            continue; // timeout or EINTR
        }
        let n = unsafe { libc::read(pipe.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
        match n {
            0 => break false,
            n if n > 0 => {
                let bytes = &buf[..n as usize];
                if echoed < echo {
                    use std::io::Write;
                    let part = &bytes[..bytes.len().min((echo - echoed) as usize)];
                    let mut out = io::stdout().lock();
                    let _ = out.write_all(echo_text(&mut echo_carry, part).as_bytes());
                    let _ = out.flush();
                    echoed += part.len() as u64;
                    if echoed >= echo {
                        let _ = writeln!(out, "\n… (further output not shown)");
                    }
                }
                collector.push(bytes)
            }
            _ => {
                if io::Error::last_os_error().kind() != io::ErrorKind::Interrupted {
                    break false;
                }
            }
        }
    };
    (collector.finish(), escaped)
}

/// The next piece of echoed output as inert text (`grading::text`): the program's
/// output goes to the person's terminal, where an escape sequence could redraw what
/// the checker printed. A character cut at the end of `bytes` waits in `carry` for
/// the rest of it.
fn echo_text(carry: &mut Vec<u8>, bytes: &[u8]) -> String {
    carry.extend_from_slice(bytes);
    let ready = carry.len() - incomplete_tail(carry);
    let text = crate::grading::text::inert(&String::from_utf8_lossy(&carry[..ready])).into_owned();
    carry.drain(..ready);
    text
}

/// How many bytes at the end of `bytes` begin a UTF-8 character that is not complete.
fn incomplete_tail(bytes: &[u8]) -> usize {
    for back in 1..=bytes.len().min(3) {
        let b = bytes[bytes.len() - back];
        if b & 0xC0 == 0x80 {
            continue; // a continuation byte: look further back for the lead
        }
        let length = match b {
            0xF0.. => 4,
            0xE0.. => 3,
            0xC0.. => 2,
            _ => 1,
        };
        return if length > back { back } else { 0 };
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_is_inert_and_keeps_characters_cut_between_reads() {
        let mut carry = Vec::new();
        let e = "é".as_bytes();
        assert_eq!(echo_text(&mut carry, b"\x1b[2Jok\r"), "\\u{1b}[2Jok\\u{d}");
        assert_eq!(echo_text(&mut carry, &[b'a', e[0]]), "a");
        assert_eq!(echo_text(&mut carry, &[e[1], b'\n']), "é\n");
        // U+009B (CSI) arrives in two reads and is still escaped.
        let csi = "\u{9b}".as_bytes();
        assert_eq!(echo_text(&mut carry, &csi[..1]), "");
        assert_eq!(echo_text(&mut carry, &csi[1..]), "\\u{9b}");
        assert!(carry.is_empty());
    }

    #[test]
    fn collector_keeps_head_and_tail() {
        let mut c = Collector::new(4);
        c.push(b"abcdefg");
        c.push(b"hij");
        c.push(b"klmnopq");
        let out = c.finish();
        assert_eq!(out.head, "abcd");
        assert_eq!(out.tail, "nopq");
        assert_eq!(out.total_bytes, 17);
        assert_eq!(out.cut_bytes, 9);
        assert_eq!(out.render(), "abcd\n…(9 bytes cut)…\nnopq");
    }

    #[test]
    fn collector_short_output_is_whole_in_head() {
        let mut c = Collector::new(4);
        c.push("héllo".as_bytes());
        let out = c.finish();
        assert_eq!(out.head, "héllo");
        assert_eq!(out.tail, "");
        assert_eq!(out.cut_bytes, 0);
        assert_eq!(out.render(), "héllo");
    }

    #[test]
    fn collector_drops_split_characters() {
        let mut c = Collector::new(3);
        c.push("aéééééé".as_bytes()); // 'é' is two bytes
        let out = c.finish();
        assert_eq!(out.head, "aé");
        assert_eq!(out.tail, "é");
        assert_eq!(out.total_bytes, 13);
        assert_eq!(out.cut_bytes, 8); // the halves of split characters count as cut
    }
}
