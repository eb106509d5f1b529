//! A fast yes-or-don't-know check that a JSON text is one serde_json (as this crate configures
//! it) would accept: the fast path of payload validation (codec_check.rs).
//!
//! [`surely_accepted`] walks the bytes once, keeps nothing and allocates nothing. It answers
//! `true` only for texts in a subset of what `serde_json::from_str` accepts into a `Value`
//! (or, with `object`, into a `Map`); on `false` the caller asks serde_json, which then
//! decides and words any error. So it must never say `true` wrongly, and may say `false` for
//! anything unusual. Its grammar is serde_json's (de.rs, 1.0.x):
//! - whitespace is space, `\n`, `\t`, `\r`; after the value only whitespace may follow;
//! - `null`, `true`, `false` spelled exactly;
//! - numbers `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, any length (with
//!   `arbitrary_precision` serde_json keeps the digits, so no range can overflow);
//! - strings: no byte below 0x20, escapes `\" \\ \/ \b \f \n \r \t \uXXXX` (hex in either
//!   case); the text is already valid UTF-8;
//! - arrays and objects without trailing commas, object keys strings.
//!
//! Refused (`false`, left to serde_json) although serde_json may accept them: `\u` escapes of
//! surrogates (serde_json pairs them or rejects lone ones), nesting deeper than
//! [`MAX_DEPTH`] (serde_json's limit is 127), and an object whose first key has an escape or
//! is serde_json's private number token (`Value` reads such an object as a number).

/// Deepest nesting of arrays and objects answered here; well below serde_json's limit.
const MAX_DEPTH: u32 = 100;

/// The first key by which serde_json (with `arbitrary_precision`) marks an object that
/// `Value` reads as a number (codec_check.rs `NUMBER_TOKEN`).
const NUMBER_TOKEN: &[u8] = b"$serde_json::private::Number";

/// `true` if serde_json surely accepts `text` as a JSON value (as an object when `object`);
/// `false` if it may not (ask serde_json).
pub fn surely_accepted(text: &[u8], object: bool) -> bool {
    let mut s = Scanner { b: text, pos: 0 };
    s.ws();
    if object && s.peek() != Some(b'{') {
        return false;
    }
    if s.value(0).is_none() {
        return false;
    }
    s.ws();
    s.pos == text.len()
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Scanner<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    fn ws(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    /// Skips whitespace and one expected byte.
    fn expect(&mut self, byte: u8) -> Option<()> {
        self.ws();
        (self.peek()? == byte).then(|| self.pos += 1)
    }

    /// One value at nesting `depth` (the number of containers around it).
    fn value(&mut self, depth: u32) -> Option<()> {
        self.ws();
        match self.peek()? {
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(drop),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<()> {
        let end = self.pos + word.len();
        (self.b.get(self.pos..end)? == word).then(|| self.pos = end)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek()? {
            b'0' => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return None; // a leading zero
                }
            }
            b'1'..=b'9' => {
                self.digits();
            }
            _ => return None,
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            (self.digits() > 0).then_some(())?;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            (self.digits() > 0).then_some(())?;
        }
        Some(())
    }

    /// A string starting at the opening quote; answers its raw bytes between the quotes and
    /// whether they hold an escape.
    fn string(&mut self) -> Option<(usize, usize, bool)> {
        self.pos += 1;
        let start = self.pos;
        let mut escaped = false;
        loop {
            self.skip_plain_string_bytes();
            match *self.b.get(self.pos)? {
                b'"' => {
                    self.pos += 1;
                    return Some((start, self.pos - 1, escaped));
                }
                b'\\' => {
                    escaped = true;
                    self.escape()?;
                }
                0..=0x1f => return None,
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

    /// An escape starting at its backslash.
    fn escape(&mut self) -> Option<()> {
        match *self.b.get(self.pos + 1)? {
            b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                self.pos += 2;
                Some(())
            }
            b'u' => {
                let hex = self.b.get(self.pos + 2..self.pos + 6)?;
                let mut code = 0u32;
                for &h in hex {
                    code = code * 16 + char::from(h).to_digit(16)?;
                }
                if (0xD800..=0xDFFF).contains(&code) {
                    return None; // surrogates: serde_json's pairing rules decide
                }
                self.pos += 6;
                Some(())
            }
            _ => None,
        }
    }

    fn array(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.ws();
        if self.peek()? == b']' {
            self.pos += 1;
            return Some(());
        }
        loop {
            self.value(depth)?;
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b']' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn object(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.pos += 1;
        self.ws();
        if self.peek()? == b'}' {
            self.pos += 1;
            return Some(());
        }
        let mut first = true;
        loop {
            self.ws();
            if self.peek()? != b'"' {
                return None;
            }
            let (start, end, escaped) = self.string()?;
            if first && (escaped || &self.b[start..end] == NUMBER_TOKEN) {
                return None;
            }
            first = false;
            self.expect(b':')?;
            self.value(depth)?;
            self.ws();
            match self.peek()? {
                b',' => self.pos += 1,
                b'}' => {
                    self.pos += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
#[path = "json_scan_tests.rs"]
mod tests;
