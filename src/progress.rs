//! The progress protocol: a program reports progress by writing lines
//! `PROGRESS <percent>` or `PROGRESS <percent> <message>` on stderr, where
//! percent is one to three digits (0 to 100 is meant). The lines stay in stderr.
//!
//! The program controls these messages, so each is cut to [`MAX_MESSAGE_BYTES`]
//! before it is kept: nothing downstream (logs, Redis snapshots, the dashboard)
//! ever holds more of one.

use std::sync::{Arc, Mutex, PoisonError};

use crate::lines::LineBuffer;

/// The most of a progress message that is kept, in bytes (cut on a character boundary).
pub const MAX_MESSAGE_BYTES: usize = 1024;

/// One progress report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    /// The reported percentage (one to three digits, as written).
    pub percent: u16,
    /// The text after the percentage, if any.
    pub message: Option<String>,
}

/// Parses one line (with or without its `\n`) as `^PROGRESS (\d{1,3})(?: (.*))?$`.
#[must_use]
pub fn parse_line(line: &[u8]) -> Option<Progress> {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let rest = line.strip_prefix(b"PROGRESS ")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if !(1..=3).contains(&digits) {
        return None;
    }
    let (number, after) = rest.split_at(digits);
    let message = match after {
        [] => None,
        [b' ', text @ ..] => Some(capped(text)),
        _ => return None,
    };
    let percent = std::str::from_utf8(number).ok()?.parse().ok()?;
    Some(Progress { percent, message })
}

/// The text of a message, at most [`MAX_MESSAGE_BYTES`] of it.
fn capped(text: &[u8]) -> String {
    let mut message = String::from_utf8_lossy(&text[..text.len().min(MAX_MESSAGE_BYTES + 4)]);
    if message.len() > MAX_MESSAGE_BYTES {
        let mut end = MAX_MESSAGE_BYTES;
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        message.to_mut().truncate(end);
    }
    message.into_owned()
}

/// The latest report of a program, readable from any thread while it runs.
#[derive(Debug, Clone, Default)]
pub struct LatestProgress(Arc<Mutex<Option<Progress>>>);

impl LatestProgress {
    /// The latest report so far, if any.
    #[must_use]
    pub fn get(&self) -> Option<Progress> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set(&self, progress: &Progress) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(progress.clone());
    }
}

/// Watches stderr as it arrives: keeps the latest report and, for a caller
/// that takes them, those not yet taken.
#[derive(Debug, Default)]
pub(crate) struct ProgressWatch {
    lines: LineBuffer,
    latest: LatestProgress,
    keep_fresh: bool,
    fresh: Vec<Progress>,
}

impl ProgressWatch {
    /// `keep_fresh`: remember every report until [`ProgressWatch::take_fresh`];
    /// otherwise only the latest is kept.
    pub(crate) fn new(keep_fresh: bool) -> Self {
        Self {
            keep_fresh,
            ..Self::default()
        }
    }

    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let (latest, fresh, keep) = (&self.latest, &mut self.fresh, self.keep_fresh);
        self.lines.push(bytes, |line| {
            if let Some(progress) = parse_line(line) {
                latest.set(&progress);
                if keep {
                    fresh.push(progress);
                }
            }
        });
    }

    /// Called when stderr ended: an unterminated last line counts too.
    pub(crate) fn finish(&mut self) {
        if let Some(progress) = self.lines.finish().as_deref().and_then(parse_line) {
            self.latest.set(&progress);
            if self.keep_fresh {
                self.fresh.push(progress);
            }
        }
    }

    pub(crate) fn latest(&self) -> Option<Progress> {
        self.latest.get()
    }

    pub(crate) fn latest_handle(&self) -> LatestProgress {
        self.latest.clone()
    }

    /// True when reports wait to be taken (only ever with `keep_fresh`).
    pub(crate) fn has_fresh(&self) -> bool {
        !self.fresh.is_empty()
    }

    pub(crate) fn take_fresh(&mut self) -> Vec<Progress> {
        std::mem::take(&mut self.fresh)
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_line, Progress};

    #[test]
    fn parses_the_protocol_and_nothing_else() {
        assert_eq!(
            parse_line(b"PROGRESS 40\n"),
            Some(Progress {
                percent: 40,
                message: None
            })
        );
        assert_eq!(
            parse_line(b"PROGRESS 100 page 12 of 40\n"),
            Some(Progress {
                percent: 100,
                message: Some("page 12 of 40".into())
            })
        );
        let long = [b"PROGRESS 7 ".as_slice(), &"é".repeat(2000).into_bytes()].concat();
        let message = parse_line(&long)
            .and_then(|p| p.message)
            .unwrap_or_default();
        assert!(message.len() <= super::MAX_MESSAGE_BYTES && message.len() > 1000);
        assert!(message.chars().all(|c| c == 'é'));
        for line in [
            &b"PROGRESS\n"[..],
            b"PROGRESS 1000\n",
            b"PROGRESS 5%\n",
            b" PROGRESS 5\n",
            b"progress 5\n",
        ] {
            assert_eq!(parse_line(line), None, "{}", String::from_utf8_lossy(line));
        }
    }
}
