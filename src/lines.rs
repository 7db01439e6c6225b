//! Splitting a stream into lines as it arrives in arbitrary pieces.

use std::borrow::Cow;

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

    /// Appends `bytes` and returns the lines now complete as one text (each
    /// line with its `\n`), or `None` when no line ended: a caller that splits
    /// the text itself (Ruby's `String#each_line`) gets one piece per read.
    /// Borrowed from `bytes` when no earlier piece was left unterminated.
    pub fn push_lines<'a>(&mut self, bytes: &'a [u8]) -> Option<Cow<'a, [u8]>> {
        let Some(last) = memchr::memrchr(b'\n', bytes) else {
            self.partial.extend_from_slice(bytes);
            return None;
        };
        let (complete, rest) = bytes.split_at(last + 1);
        let text = if self.partial.is_empty() {
            Cow::Borrowed(complete)
        } else {
            let mut joined = std::mem::take(&mut self.partial);
            joined.extend_from_slice(complete);
            Cow::Owned(joined)
        };
        self.partial.extend_from_slice(rest);
        Some(text)
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

    #[test]
    fn hands_over_the_complete_lines_of_each_piece_as_one_text() {
        let mut buffer = LineBuffer::default();
        let texts: Vec<Option<Vec<u8>>> = [&b"ab"[..], b"c\nd", b"\n\nla", b"st"]
            .iter()
            .map(|piece| buffer.push_lines(piece).map(std::borrow::Cow::into_owned))
            .collect();
        assert_eq!(
            texts,
            [None, Some(b"abc\n".to_vec()), Some(b"d\n\n".to_vec()), None]
        );
        assert_eq!(buffer.finish(), Some(b"last".to_vec()));
    }
}
