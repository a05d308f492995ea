//! Where the engine keeps entries fetched ahead of the one being delivered:
//! in memory up to a shared cap, then in an anonymous temporary file (created
//! with mode 0600 and already unlinked, so nothing is left behind and no
//! other user can open it).
//!
//! A segment's entries come out in the order they went in: memory holds the
//! oldest, the file the newer ones (once a segment has spilled, everything it
//! receives after goes to the file until the file is drained).

use std::collections::VecDeque;
use std::fs::File;
use std::path::Path;

use crate::entry::LogEntry;

/// Entries of one segment waiting to be delivered.
#[derive(Debug, Default)]
pub(crate) struct Spool {
    mem: VecDeque<Vec<LogEntry>>,
    mem_bytes: usize,
    file: Option<SpillFile>,
}

#[derive(Debug)]
struct SpillFile {
    file: File,
    write_at: u64,
    read_at: u64,
    /// Entries written and not yet read.
    pending: u64,
}

/// Bytes an entry is accounted for in memory (its JSON text plus overhead).
pub(crate) fn entry_bytes(entry: &LogEntry) -> usize {
    entry.json().len() + 64
}

impl Spool {
    /// Bytes held in memory.
    pub(crate) fn mem_bytes(&self) -> usize {
        self.mem_bytes
    }

    /// Whether nothing is waiting.
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.mem.is_empty() && self.file.as_ref().is_none_or(|f| f.pending == 0)
    }

    /// Adds a run of entries: to memory when `fits` and nothing of this
    /// segment is in the file, else to the file. Returns the bytes spilled.
    pub(crate) fn push(
        &mut self,
        entries: Vec<LogEntry>,
        fits: bool,
        dir: Option<&Path>,
    ) -> std::io::Result<u64> {
        if entries.is_empty() {
            return Ok(0);
        }
        let in_file = self.file.as_ref().is_some_and(|f| f.pending > 0);
        if fits && !in_file {
            self.mem_bytes += entries.iter().map(entry_bytes).sum::<usize>();
            self.mem.push_back(entries);
            return Ok(0);
        }
        if self.file.is_none() {
            let file = match dir {
                Some(dir) => tempfile::tempfile_in(dir)?,
                None => tempfile::tempfile()?,
            };
            self.file = Some(SpillFile {
                file,
                write_at: 0,
                read_at: 0,
                pending: 0,
            });
        }
        let spill = self.file.as_mut().expect("just created");
        let mut buf = Vec::with_capacity(entries.iter().map(|e| e.json().len() + 12).sum());
        for entry in &entries {
            let text = entry.json().as_bytes();
            let len = u32::try_from(text.len()).map_err(|_| {
                std::io::Error::other("an entry of 4 GiB or more cannot be spooled")
            })?;
            buf.extend_from_slice(&entry.occurrence().to_le_bytes());
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(text);
        }
        write_all_at(&spill.file, &buf, spill.write_at)?;
        spill.write_at += buf.len() as u64;
        spill.pending += entries.len() as u64;
        Ok(buf.len() as u64)
    }

    /// Takes the oldest waiting run of entries (at most `max` from the file).
    pub(crate) fn pop(&mut self, max: usize) -> std::io::Result<Option<Vec<LogEntry>>> {
        if let Some(entries) = self.mem.pop_front() {
            self.mem_bytes -= entries.iter().map(entry_bytes).sum::<usize>();
            return Ok(Some(entries));
        }
        let Some(spill) = self.file.as_mut().filter(|f| f.pending > 0) else {
            return Ok(None);
        };
        let mut out = Vec::new();
        let mut head = [0u8; 12];
        while spill.pending > 0 && out.len() < max {
            read_exact_at(&spill.file, &mut head, spill.read_at)?;
            let (occ, len) = head.split_at(8);
            let occurrence = u64::from_le_bytes(occ.try_into().expect("8 bytes"));
            let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
            let mut text = vec![0u8; len];
            read_exact_at(&spill.file, &mut text, spill.read_at + 12)?;
            spill.read_at += 12 + len as u64;
            spill.pending -= 1;
            let text = String::from_utf8(text).map_err(std::io::Error::other)?;
            let mut entry = LogEntry::from_json(&text).map_err(std::io::Error::other)?;
            entry.set_occurrence(occurrence);
            out.push(entry);
        }
        if spill.pending == 0 {
            // Drained: start the file over so it does not grow for nothing.
            spill.file.set_len(0)?;
            spill.write_at = 0;
            spill.read_at = 0;
        }
        Ok(Some(out))
    }
}

#[cfg(unix)]
fn write_all_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(unix)]
fn read_exact_at(file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
}

#[cfg(not(unix))]
fn write_all_at(mut file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Seek as _, SeekFrom, Write as _};
    file.seek(SeekFrom::Start(offset))?;
    file.write_all(buf)
}

#[cfg(not(unix))]
fn read_exact_at(mut file: &File, buf: &mut [u8], offset: u64) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    file.seek(SeekFrom::Start(offset))?;
    file.read_exact(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(i: usize) -> LogEntry {
        LogEntry::from_json(&format!(
            r#"{{"eventTime":"2024-01-01T00:00:{:02}Z","n":{i},"s":"a\nb \u00e9"}}"#,
            i % 60
        ))
        .unwrap()
    }

    #[test]
    fn keeps_order_across_memory_and_file() {
        let mut spool = Spool::default();
        let mut next = 0;
        let mut batch = |n: usize| -> Vec<LogEntry> {
            let v = (next..next + n).map(entry).collect();
            next += n;
            v
        };
        assert_eq!(spool.push(batch(3), true, None).unwrap(), 0);
        assert!(spool.push(batch(4), false, None).unwrap() > 0);
        // Once spilled, later entries follow in the file even if they fit.
        assert!(spool.push(batch(2), true, None).unwrap() > 0);
        let mut got = Vec::new();
        while let Some(run) = spool.pop(3).unwrap() {
            got.extend(run);
        }
        let want: Vec<LogEntry> = (0..9).map(entry).collect();
        assert_eq!(got, want);
        assert!(spool.is_empty());
        assert_eq!(spool.mem_bytes(), 0);
        // Drained and reused.
        spool.push(batch(1), false, None).unwrap();
        assert_eq!(spool.pop(10).unwrap().unwrap(), vec![entry(9)]);
    }
}
