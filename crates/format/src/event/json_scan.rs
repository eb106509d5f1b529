//! The JSON checker of this crate: whether a text is JSON that `before`, `after` and
//! `metadata` may hold ([`JsonText`](super::JsonText)), and what [`EventLimits`] needs to
//! know about it (nesting depth, longest top-level key), in one pass that keeps nothing and
//! allocates nothing. Every JSON text of an event goes through it: when a [`JsonText`] is
//! made, when a payload is decoded and when one is verified (codec_check.rs), so these three
//! accept exactly the same texts.
//!
//! The grammar is serde_json's (de.rs, 1.0.x), as `serde_json::Value` reads it:
//! - whitespace is space, `\n`, `\t`, `\r`; after the value only whitespace may follow;
//! - `null`, `true`, `false` spelled exactly;
//! - numbers `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, any length and any
//!   exponent: the digits are kept as text, never converted, so nothing can overflow;
//! - strings: no byte below 0x20, escapes `\" \\ \/ \b \f \n \r \t \uXXXX` (hex in either
//!   case), surrogate escapes only as a leading-trailing pair (as serde_json demands of a
//!   Rust string); the text is already valid UTF-8;
//! - arrays and objects without trailing commas, object keys strings;
//! - at most [`MAX_DEPTH`] nested arrays and objects (serde_json's recursion limit, which
//!   the payload decoder of earlier builds applied).
//!
//! [`EventLimits`]: super::EventLimits

/// Deepest nesting of arrays and objects a JSON text may have: serde_json's recursion limit
/// (128 levels refused, 127 read), which earlier builds applied when decoding payloads.
pub(crate) const MAX_DEPTH: u32 = 127;

/// What one pass over a valid text found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Deepest nesting of arrays and objects (0 for a scalar).
    pub(crate) depth: u32,
    /// Whether the value is an object.
    pub(crate) object: bool,
    /// Bytes (decoded UTF-8) of the longest key of the top-level object; 0 otherwise.
    pub(crate) widest_key: usize,
    /// Whether there is whitespace outside strings (the text is not compact).
    pub(crate) spaced: bool,
}

/// Why a text was refused, and the byte offset where that was seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reject {
    /// Not JSON (serde_json words the details).
    Syntax(usize),
    /// A `\u` escape of a surrogate that is not half of a leading-trailing pair.
    LoneSurrogate(usize),
    /// Deeper than [`MAX_DEPTH`].
    TooDeep(usize),
}

/// Checks `text` (UTF-8) as a JSON value.
pub(crate) fn scan(text: &[u8]) -> Result<Scan, Reject> {
    let mut s = Scanner {
        b: text,
        pos: 0,
        depth: 0,
        widest_key: 0,
        spaced: false,
    };
    s.ws();
    let object = s.peek() == Some(b'{');
    s.value(0)?;
    s.ws();
    if s.pos != text.len() {
        return Err(Reject::Syntax(s.pos));
    }
    Ok(Scan {
        depth: s.depth,
        object,
        widest_key: s.widest_key,
        spaced: s.spaced,
    })
}

/// `true` if `text` is valid JSON (an object when `object`): what payload verification asks.
pub(crate) fn accepted(text: &[u8], object: bool) -> bool {
    scan(text).is_ok_and(|s| s.object || !object)
}

/// `text` (valid JSON) without the whitespace outside its strings.
///
/// Byte by byte, copying the runs between whitespace: every byte this looks at (quotes,
/// backslashes, whitespace) is ASCII, so each run starts and ends on a character boundary.
pub(crate) fn compact(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut run = 0;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                i += 1;
                while i < bytes.len() {
                    match bytes[i] {
                        b'\\' => i += 2,
                        b'"' => break,
                        _ => i += 1,
                    }
                }
                i += 1; // past the closing quote
            }
            b' ' | b'\n' | b'\t' | b'\r' => {
                out.push_str(&text[run..i]);
                i += 1;
                run = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&text[run..]);
    out
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    depth: u32,
    widest_key: usize,
    spaced: bool,
}

type Step = Result<(), Reject>;

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        let start = self.pos;
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
        self.spaced |= self.pos != start;
    }

    fn syntax(&self) -> Reject {
        Reject::Syntax(self.pos)
    }

    /// The byte at the cursor, or a syntax error at the end of the text.
    fn next_byte(&self) -> Result<u8, Reject> {
        self.peek().ok_or(self.syntax())
    }

    /// Skips whitespace and one expected byte.
    fn expect(&mut self, byte: u8) -> Step {
        self.ws();
        if self.next_byte()? != byte {
            return Err(self.syntax());
        }
        self.pos += 1;
        Ok(())
    }

    /// One value at nesting `depth` (the number of containers around it).
    fn value(&mut self, depth: u32) -> Step {
        self.ws();
        match self.next_byte()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(self.syntax()),
        }
    }

    fn literal(&mut self, word: &[u8]) -> Step {
        let end = self.pos + word.len();
        if self.b.get(self.pos..end) != Some(word) {
            return Err(self.syntax());
        }
        self.pos = end;
        Ok(())
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// At least one digit.
    fn some_digits(&mut self) -> Step {
        match self.digits() {
            0 => Err(self.syntax()),
            _ => Ok(()),
        }
    }

    fn number(&mut self) -> Step {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.next_byte()? {
            b'0' => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.syntax()); // a leading zero
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return Err(self.syntax()),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.some_digits()?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.some_digits()?;
        }
        Ok(())
    }

    /// A string starting at the opening quote; answers the bytes of its decoded UTF-8.
    fn string(&mut self) -> Result<usize, Reject> {
        self.pos += 1;
        let start = self.pos;
        // Bytes the escapes save: raw length minus decoded length.
        let mut saved = 0;
        loop {
            self.skip_plain_string_bytes();
            match self.next_byte()? {
                b'"' => {
                    self.pos += 1;
                    return Ok(self.pos - 1 - start - saved);
                }
                b'\\' => saved += self.escape()?,
                0..=0x1f => return Err(self.syntax()),
                _ => self.pos += 1,
            }
        }
    }

    /// Skips string bytes that need no attention (not `"`, `\\`, or below 0x20), eight at a
    /// time: a zero-byte test per byte class on a `u64` (the classic SWAR trick; the lowest
    /// flagged byte is exact, which is the only one used).
    fn skip_plain_string_bytes(&mut self) {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        while let Some(chunk) = self.b.get(self.pos..self.pos + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let x = u64::from_le_bytes(word);
            let quote = x ^ (ONES * u64::from(b'"'));
            let backslash = x ^ (ONES * u64::from(b'\\'));
            let flagged = (quote.wrapping_sub(ONES) & !quote)
                | (backslash.wrapping_sub(ONES) & !backslash)
                | (x.wrapping_sub(ONES * 0x20) & !x);
            let flagged = flagged & HIGH;
            if flagged != 0 {
                self.pos += (flagged.trailing_zeros() / 8) as usize;
                return;
            }
            self.pos += 8;
        }
    }

    /// An escape starting at its backslash; answers how many bytes shorter its decoded
    /// UTF-8 is than the escape.
    fn escape(&mut self) -> Result<usize, Reject> {
        let at = self.pos;
        match *self
            .b
            .get(self.pos + 1)
            .ok_or(Reject::Syntax(self.b.len()))?
        {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.pos += 2;
                Ok(1)
            }
            b'u' => {
                self.pos += 2;
                let code = self.hex4()?;
                match code {
                    0xDC00..=0xDFFF => Err(Reject::LoneSurrogate(at)),
                    0xD800..=0xDBFF => {
                        // A leading surrogate: a trailing one must follow, as `\uXXXX`.
                        if self.b.get(self.pos..self.pos + 2) != Some(b"\\u") {
                            return Err(Reject::LoneSurrogate(at));
                        }
                        self.pos += 2;
                        match self.hex4()? {
                            0xDC00..=0xDFFF => Ok(12 - 4),
                            _ => Err(Reject::LoneSurrogate(at)),
                        }
                    }
                    // char::len_utf8 of the code point: 1, 2 or 3 bytes for 6 escaped.
                    0..0x80 => Ok(5),
                    0x80..0x800 => Ok(4),
                    _ => Ok(3),
                }
            }
            _ => Err(self.syntax()),
        }
    }

    /// Four hex digits of a `\u` escape.
    fn hex4(&mut self) -> Result<u32, Reject> {
        let hex = self.b.get(self.pos..self.pos + 4).ok_or(self.syntax())?;
        let mut code = 0u32;
        for &h in hex {
            code = code * 16 + char::from(h).to_digit(16).ok_or(self.syntax())?;
        }
        self.pos += 4;
        Ok(code)
    }

    /// Enters a container at nesting `depth`.
    fn open(&mut self, depth: u32) -> Step {
        if depth > MAX_DEPTH {
            return Err(Reject::TooDeep(self.pos));
        }
        self.depth = self.depth.max(depth);
        self.pos += 1;
        self.ws();
        Ok(())
    }

    fn array(&mut self, depth: u32) -> Step {
        self.open(depth)?;
        if self.next_byte()? == b']' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.value(depth)?;
            self.ws();
            match self.next_byte()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax()),
            }
        }
    }

    fn object(&mut self, depth: u32) -> Step {
        self.open(depth)?;
        if self.next_byte()? == b'}' {
            self.pos += 1;
            return Ok(());
        }
        loop {
            self.ws();
            if self.next_byte()? != b'"' {
                return Err(self.syntax());
            }
            let key = self.string()?;
            if depth == 1 {
                self.widest_key = self.widest_key.max(key);
            }
            self.expect(b':')?;
            self.value(depth)?;
            self.ws();
            match self.next_byte()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Ok(());
                }
                _ => return Err(self.syntax()),
            }
        }
    }
}

#[cfg(test)]
#[path = "json_scan_tests.rs"]
mod tests;
