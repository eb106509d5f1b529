//! Reading the lines of an import: a file or stdin, plain or zstd-compressed (recognised by the
//! zstd frame magic, whatever the file is called), one reused buffer, lines of any length.

use crate::cli::CliError;
use std::cell::Cell;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// The first four bytes of a zstd frame (RFC 8878 §3.1.1), little-endian 0xFD2FB528.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xB5, 0x2F, 0xFD];
const READ_BUFFER_BYTES: usize = 1 << 16;

/// Lines of the input, without their line ends.
pub struct LineReader {
    inner: Box<dyn BufRead>,
    name: PathBuf,
    line: Vec<u8>,
    /// Bytes read from the input as it is (compressed or not), for progress.
    consumed: Rc<Cell<u64>>,
    /// The input file's size; `None` for standard input.
    size: Option<u64>,
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

impl std::fmt::Debug for LineReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LineReader")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn read_failed(name: &Path, e: io::Error) -> CliError {
    CliError::Failed(auditlog::Error::Io {
        context: format!("reading {}", name.display()),
        source: e,
    })
}

impl LineReader {
    /// Opens `path` (`-` is standard input).
    pub fn open(path: &Path) -> Result<Self, CliError> {
        let mut size = None;
        let raw: Box<dyn Read> = if path == Path::new("-") {
            Box::new(io::stdin())
        } else {
            let file = File::open(path).map_err(|e| {
                if e.kind() == io::ErrorKind::NotFound {
                    CliError::Usage(format!(
                        "{}: no such file (give a JSON Lines file, or - for stdin)",
                        path.display()
                    ))
                } else {
                    read_failed(path, e)
                }
            })?;
            size = file.metadata().ok().map(|m| m.len());
            Box::new(file)
        };
        let consumed = Rc::new(Cell::new(0));
        let raw = Counted {
            inner: raw,
            count: Rc::clone(&consumed),
        };
        let mut buffered = BufReader::with_capacity(READ_BUFFER_BYTES, raw);
        let compressed = buffered
            .fill_buf()
            .map_err(|e| read_failed(path, e))?
            .starts_with(&ZSTD_MAGIC);
        let inner: Box<dyn BufRead> = if compressed {
            let decoder = zstd::Decoder::with_buffer(buffered).map_err(|e| read_failed(path, e))?;
            Box::new(BufReader::with_capacity(READ_BUFFER_BYTES, decoder))
        } else {
            Box::new(buffered)
        };
        Ok(LineReader {
            inner,
            name: path.to_path_buf(),
            line: Vec::new(),
            consumed,
            size,
        })
    }

    /// The input file's size in bytes (`None` for standard input).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// Bytes read from the input so far, as stored (compressed bytes of a zstd file).
    pub fn consumed(&self) -> u64 {
        self.consumed.get()
    }

    /// The next line without its `\n` (and `\r\n`), or `None` at the end.
    pub fn next_line(&mut self) -> Result<Option<&[u8]>, CliError> {
        self.line.clear();
        let n = self
            .inner
            .read_until(b'\n', &mut self.line)
            .map_err(|e| read_failed(&self.name, e))?;
        if n == 0 {
            return Ok(None);
        }
        if self.line.last() == Some(&b'\n') {
            self.line.pop();
            if self.line.last() == Some(&b'\r') {
                self.line.pop();
            }
        }
        Ok(Some(&self.line))
    }
}
