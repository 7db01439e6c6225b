//! One output stream of the program: its pipe, the bytes kept, and the cap.

use std::io;
use std::os::fd::OwnedFd;

use crate::pipes::{self, Transfer};

/// Bytes asked for per read; a busy pipe is grown to 1 MiB, so one read can empty it.
const READ_CHUNK: usize = 1 << 20;

/// A read this large filled a default-sized pipe: the program writes a lot,
/// so the pipe is grown (once) to cross in fewer reads and context switches.
/// Small outputs never pay for the resize.
const BUSY_READ: usize = 64 << 10;

/// Bound on reads in the final drain, when no writer of the group is left but
/// an outsider (a `setsid` daemon) might still hold the pipe and keep writing.
const FINAL_DRAIN_READS: usize = 64;

#[derive(Debug)]
pub(crate) struct Capture {
    fd: Option<OwnedFd>,
    kept: Vec<u8>,
    total: u64,
    limit: u64,
    overflowed: bool,
    grown: bool,
    last_read: usize,
    discard: Vec<u8>,
}

/// What a read did to the stream.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Event {
    Nothing,
    /// The stream just went past its limit; what was kept is exactly the limit.
    Overflowed,
}

impl Capture {
    pub(crate) fn new(fd: OwnedFd, limit: usize) -> Self {
        Self {
            fd: Some(fd),
            kept: Vec::new(),
            total: 0,
            limit: limit as u64,
            overflowed: false,
            grown: false,
            last_read: 0,
            discard: Vec::new(),
        }
    }

    pub(crate) fn fd(&self) -> Option<&OwnedFd> {
        self.fd.as_ref()
    }

    /// Reads once. Past the limit, bytes are read and dropped so that the
    /// writers never block on a full pipe while they are being ended.
    pub(crate) fn read(&mut self) -> io::Result<Event> {
        self.last_read = 0;
        let Some(fd) = &self.fd else {
            return Ok(Event::Nothing);
        };
        if self.overflowed {
            self.discard.clear();
            if matches!(
                pipes::read_append(fd, &mut self.discard, READ_CHUNK)?,
                Transfer::Closed
            ) {
                self.fd = None;
            }
            return Ok(Event::Nothing);
        }
        let room = self.limit - self.total;
        // One byte more than the room tells "exactly at the limit" from "past it".
        let want = usize::try_from(room.saturating_add(1))
            .unwrap_or(usize::MAX)
            .min(READ_CHUNK);
        match pipes::read_append(fd, &mut self.kept, want)? {
            Transfer::Closed => self.fd = None,
            Transfer::WouldBlock => {}
            Transfer::Bytes(n) => {
                if n >= BUSY_READ && !self.grown {
                    pipes::grow(fd);
                    self.grown = true;
                }
                let n = n as u64;
                if n > room {
                    let excess = usize::try_from(n - room).unwrap_or(0);
                    self.kept.truncate(self.kept.len() - excess);
                    self.total = self.limit;
                    self.overflowed = true;
                    self.last_read = usize::try_from(room).unwrap_or(0);
                    return Ok(Event::Overflowed);
                }
                self.total += n;
                self.last_read = usize::try_from(n).unwrap_or(0);
            }
        }
        Ok(Event::Nothing)
    }

    /// The bytes the last `read` kept.
    pub(crate) fn fresh(&self) -> &[u8] {
        &self.kept[self.kept.len() - self.last_read..]
    }

    /// Reads what is already in the pipe, then closes it: called once nothing
    /// in the group can write any more. `on_fresh` sees the bytes of each read.
    pub(crate) fn drain_and_close(&mut self, on_fresh: &mut dyn FnMut(&[u8])) -> Option<Event> {
        let mut event = None;
        for _ in 0..FINAL_DRAIN_READS {
            if self.fd.is_none() {
                break;
            }
            let before = self.total;
            let read = self.read();
            on_fresh(self.fresh());
            match read {
                Ok(Event::Overflowed) => event = Some(Event::Overflowed),
                Ok(Event::Nothing) if self.total == before && !self.overflowed => break,
                Ok(Event::Nothing) => {}
                Err(_) => break,
            }
        }
        self.fd = None;
        event
    }

    pub(crate) fn pending(&self) -> usize {
        self.kept.len()
    }

    pub(crate) fn total(&self) -> u64 {
        self.total
    }

    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.kept)
    }
}
