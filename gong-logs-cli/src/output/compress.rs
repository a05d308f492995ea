//! Compressed output (`-o FILE.jsonl.gz`, `FILE.csv.zst`, ...): the format
//! and compression an output name asks for, and the encoder a sink writes
//! through.
//!
//! The output is compressed as a sequence of independent units: gzip
//! members (RFC 1952 §2.2: concatenated members are one valid gzip stream,
//! which `gzip -d`/`zcat` read whole) or zstd frames (concatenated frames
//! decompress as one stream with `zstd -d`). A unit is closed at every
//! checkpoint commit and at the end, so every committed length of the data
//! file ends on a unit boundary: truncating it there (`--resume`) always
//! leaves a valid compressed file, and a footer written after the last
//! commit (json's `]`) is a unit of its own that truncation drops whole.
//! The encoder's output is drained to the sink after every write: the
//! output is streamed, never held whole in memory.

use std::io::Write as _;
use std::path::Path;

use crate::values::Format;

/// How the output bytes are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Written as is.
    None,
    /// gzip (flate2), one member per committed batch.
    Gzip,
    /// zstd, one frame per committed batch.
    Zstd,
}

/// The output names understood without `--format`, for messages.
pub const KNOWN_EXTENSIONS: &str =
    ".jsonl .json .csv, each optionally followed by .gz or .zst (e.g. audit.jsonl.gz)";

/// The longest compressed unit holding nothing but a footer (json's
/// `\n]\n`): gzip's 18 bytes of header and trailer plus a short deflate
/// block, or zstd's frame header, block and checksum. Generous on purpose.
pub const MAX_COMPRESSED_FOOTER: u64 = 64;

/// What an output name says: its compression (from a last `.gz`/`.zst`) and
/// its format (from the extension before it), `None` when the format
/// extension is missing or unknown. A name without any extension is jsonl.
pub fn from_name(path: &Path) -> (Compression, Result<Format, ()>) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    let (compression, inner) = if let Some(stem) = name.strip_suffix(".gz") {
        (Compression::Gzip, stem)
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (Compression::Zstd, stem)
    } else {
        (Compression::None, name.as_str())
    };
    let format = match Path::new(inner).extension().and_then(|e| e.to_str()) {
        Some("jsonl") => Ok(Format::Jsonl),
        Some("json") => Ok(Format::Json),
        Some("csv") => Ok(Format::Csv),
        // `-o audit`, `/dev/stdout`, a FIFO `/dev/fd/3`: jsonl as before.
        None if compression == Compression::None => Ok(Format::Jsonl),
        _ => Err(()),
    };
    (compression, format)
}

/// A compressor producing a sequence of independent units.
#[derive(Debug)]
pub struct Encoder {
    compression: Compression,
    open: Option<Unit>,
}

enum Unit {
    Gzip(flate2::write::GzEncoder<Vec<u8>>),
    Zstd(zstd::stream::write::Encoder<'static, Vec<u8>>),
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Gzip(_) => "Gzip",
            Self::Zstd(_) => "Zstd",
        })
    }
}

impl Encoder {
    /// An encoder, `None` for uncompressed output.
    pub fn new(compression: Compression) -> Option<Self> {
        (compression != Compression::None).then_some(Self {
            compression,
            open: None,
        })
    }

    fn start(&self) -> std::io::Result<Unit> {
        Ok(match self.compression {
            Compression::Gzip => Unit::Gzip(flate2::write::GzEncoder::new(
                Vec::new(),
                flate2::Compression::default(),
            )),
            Compression::Zstd => {
                let mut enc = zstd::stream::write::Encoder::new(Vec::new(), 3)?;
                enc.include_checksum(true)?;
                Unit::Zstd(enc)
            }
            Compression::None => unreachable!("no encoder for uncompressed output"),
        })
    }

    /// Compresses `raw` into the open unit (opening one), returning the
    /// compressed bytes ready so far (possibly none).
    pub fn write(&mut self, raw: &[u8]) -> std::io::Result<Vec<u8>> {
        if raw.is_empty() {
            return Ok(Vec::new());
        }
        if self.open.is_none() {
            self.open = Some(self.start()?);
        }
        Ok(match self.open.as_mut().expect("opened above") {
            Unit::Gzip(enc) => {
                enc.write_all(raw)?;
                std::mem::take(enc.get_mut())
            }
            Unit::Zstd(enc) => {
                enc.write_all(raw)?;
                std::mem::take(enc.get_mut())
            }
        })
    }

    /// Closes the open unit, returning its last bytes (none when no unit is
    /// open). `always`: an empty unit when none is open, so that even an
    /// empty output is a valid compressed file.
    pub fn close(&mut self, always: bool) -> std::io::Result<Vec<u8>> {
        let unit = match self.open.take() {
            Some(unit) => unit,
            None if always => self.start()?,
            None => return Ok(Vec::new()),
        };
        match unit {
            Unit::Gzip(enc) => enc.finish(),
            Unit::Zstd(enc) => enc.finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let f = |n: &str| from_name(Path::new(n));
        assert_eq!(f("a.jsonl"), (Compression::None, Ok(Format::Jsonl)));
        assert_eq!(f("d/A.CSV.GZ"), (Compression::Gzip, Ok(Format::Csv)));
        assert_eq!(f("a.json.zst"), (Compression::Zstd, Ok(Format::Json)));
        assert_eq!(f("audit"), (Compression::None, Ok(Format::Jsonl)));
        assert_eq!(f("audit.tsv"), (Compression::None, Err(())));
        assert_eq!(f("audit.jsonl.bz2"), (Compression::None, Err(())));
        assert_eq!(f("audit.gz"), (Compression::Gzip, Err(())));
    }
}
