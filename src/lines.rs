//! Splitting a stream into lines as it arrives in arbitrary pieces.

/// Holds the unterminated end of what was pushed so far.
#[derive(Debug, Default, Clone)]
pub struct LineBuffer {
    partial: Vec<u8>,
}

impl LineBuffer {
    /// Appends `bytes` and calls `line` with each line now complete (its `\n` included), in order.
    pub fn push(&mut self, bytes: &[u8], mut line: impl FnMut(&[u8])) {
        let mut rest = bytes;
        while let Some(end) = memchr::memchr(b'\n', rest) {
            let (head, tail) = rest.split_at(end + 1);
            if self.partial.is_empty() {
                line(head);
            } else {
                self.partial.extend_from_slice(head);
                line(&self.partial);
                self.partial.clear();
            }
            rest = tail;
        }
        self.partial.extend_from_slice(rest);
    }

    /// The unterminated last line, if any, once the stream has ended.
    pub fn finish(&mut self) -> Option<Vec<u8>> {
        (!self.partial.is_empty()).then(|| std::mem::take(&mut self.partial))
    }
}

#[cfg(test)]
mod tests {
    use super::LineBuffer;

    #[test]
    fn joins_lines_split_across_pieces_and_keeps_the_tail() {
        let mut buffer = LineBuffer::default();
        let mut lines = Vec::new();
        for piece in [&b"ab"[..], b"c\nd", b"\n\nlast"] {
            buffer.push(piece, |line| lines.push(line.to_vec()));
        }
        assert_eq!(lines, [b"abc\n".to_vec(), b"d\n".to_vec(), b"\n".to_vec()]);
        assert_eq!(buffer.finish(), Some(b"last".to_vec()));
        assert_eq!(buffer.finish(), None);
    }
}
