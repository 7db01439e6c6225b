//! The progress protocol: a program reports progress by writing lines
//! `PROGRESS <percent>` or `PROGRESS <percent> <message>` on stderr, where
//! percent is one to three digits (0 to 100 is meant). The lines stay in stderr.

use crate::lines::LineBuffer;

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
        [b' ', text @ ..] => Some(String::from_utf8_lossy(text).into_owned()),
        _ => return None,
    };
    let percent = std::str::from_utf8(number).ok()?.parse().ok()?;
    Some(Progress { percent, message })
}

/// Watches stderr as it arrives: keeps the latest report and those not yet taken.
#[derive(Debug, Default)]
pub(crate) struct ProgressWatch {
    lines: LineBuffer,
    latest: Option<Progress>,
    fresh: Vec<Progress>,
}

impl ProgressWatch {
    pub(crate) fn feed(&mut self, bytes: &[u8]) {
        let (latest, fresh) = (&mut self.latest, &mut self.fresh);
        self.lines.push(bytes, |line| {
            if let Some(progress) = parse_line(line) {
                *latest = Some(progress.clone());
                fresh.push(progress);
            }
        });
    }

    /// Called when stderr ended: an unterminated last line counts too.
    pub(crate) fn finish(&mut self) {
        if let Some(progress) = self.lines.finish().as_deref().and_then(parse_line) {
            self.latest = Some(progress.clone());
            self.fresh.push(progress);
        }
    }

    pub(crate) fn latest(&self) -> Option<&Progress> {
        self.latest.as_ref()
    }

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
