//! The messages of a server-sent event stream, read from its bytes as they pass
//! through the proxy (which relays the bytes themselves untouched): each event's
//! `data` lines, joined, are one JSON-RPC message. Incremental, so that a stream is
//! never held to its end, and bounded, so that no event costs more than
//! [`MAX_EVENT`] of memory.

/// The largest event read: a longer one is relayed, not observed.
pub(crate) const MAX_EVENT: usize = 32 << 20;

/// Reads events from the stream's bytes, chunk by chunk.
#[derive(Debug, Default)]
pub(crate) struct Events {
    /// The current line, until its end.
    line: Vec<u8>,
    /// The current event's data so far.
    data: Vec<u8>,
    /// The current event has a `data` line (an empty one included).
    has_data: bool,
    /// Its `event` field names a type other than `message`: not a JSON-RPC message.
    other_type: bool,
    /// It grew past [`MAX_EVENT`]: passed by.
    too_long: bool,
    /// The last byte was a carriage return (a `\n` right after it ends no second line).
    after_cr: bool,
}

impl Events {
    /// Reads `chunk`; calls `message` with the data of each event it completes.
    pub(crate) fn feed(&mut self, chunk: &[u8], mut message: impl FnMut(&[u8])) {
        let mut rest = chunk;
        while !rest.is_empty() {
            if self.after_cr && rest[0] == b'\n' {
                rest = &rest[1..];
                self.after_cr = false;
                continue;
            }
            self.after_cr = false;
            match rest.iter().position(|&b| b == b'\n' || b == b'\r') {
                Some(at) => {
                    self.take(&rest[..at]);
                    self.after_cr = rest[at] == b'\r';
                    rest = &rest[at + 1..];
                    self.line_ended(&mut message);
                }
                None => {
                    self.take(rest);
                    rest = &[];
                }
            }
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        if self.too_long {
            return;
        }
        if self.line.len() + self.data.len() + bytes.len() > MAX_EVENT {
            self.too_long = true;
            self.line = Vec::new();
            self.data = Vec::new();
            return;
        }
        self.line.extend_from_slice(bytes);
    }

    fn line_ended(&mut self, message: &mut impl FnMut(&[u8])) {
        let line = std::mem::take(&mut self.line);
        if line.is_empty() {
            // A blank line ends the event.
            if self.has_data && !self.other_type && !self.too_long {
                message(&self.data);
            }
            if self.data.capacity() > 1 << 20 {
                self.data = Vec::new();
            } else {
                self.data.clear();
            }
            self.has_data = false;
            self.other_type = false;
            self.too_long = false;
            return;
        }
        if self.too_long || line[0] == b':' {
            // Past the bound, or a comment.
            self.line = reuse(line);
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(at) => {
                let value = &line[at + 1..];
                (&line[..at], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (&line[..], &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.data.push(b'\n');
                }
                self.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => self.other_type = !value.is_empty() && value != b"message",
            _ => {}
        }
        self.line = reuse(line);
    }
}

/// A line's buffer, emptied for the next line (let go of when one long line grew it).
fn reuse(mut line: Vec<u8>) -> Vec<u8> {
    if line.capacity() > 1 << 20 {
        return Vec::new();
    }
    line.clear();
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(chunks: &[&[u8]]) -> Vec<String> {
        let mut events = Events::default();
        let mut seen = Vec::new();
        for chunk in chunks {
            events.feed(chunk, |data| {
                seen.push(String::from_utf8(data.to_vec()).unwrap())
            });
        }
        seen
    }

    #[test]
    fn events_end_at_blank_lines_whatever_the_line_endings() {
        let stream: &[u8] =
            b"event: message\ndata: {\"a\":1}\n\nid: 7\r\ndata: {\"b\":2}\r\n\r\ndata: x\rdata: y\r\r";
        assert_eq!(read(&[stream]), ["{\"a\":1}", "{\"b\":2}", "x\ny"]);
    }

    #[test]
    fn an_event_split_anywhere_reads_the_same() {
        let stream: &[u8] = b": keep-alive\r\nevent: message\r\ndata:{\"id\":1}\r\n\r\n";
        for cut in 0..stream.len() {
            assert_eq!(
                read(&[&stream[..cut], &stream[cut..]]),
                ["{\"id\":1}"],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn other_event_types_comments_and_empty_events_are_no_messages() {
        let stream: &[u8] = b"event: ping\ndata: {}\n\n: comment\n\nretry: 10\n\ndata\n\n";
        // `data` with no colon is an empty data line: an event with empty data.
        assert_eq!(read(&[stream]), [""]);
    }

    #[test]
    fn an_event_past_the_bound_is_passed_by_and_the_next_one_read() {
        let mut events = Events::default();
        let mut seen = 0;
        let big = vec![b'x'; 1 << 20];
        events.feed(b"data: ", |_| seen += 1);
        for _ in 0..33 {
            events.feed(&big, |_| seen += 1);
        }
        events.feed(b"\n\ndata: {}\n\n", |data| {
            assert_eq!(data, b"{}");
            seen += 1
        });
        assert_eq!(seen, 1);
        assert!(events.line.capacity() <= 1 << 20);
    }
}
