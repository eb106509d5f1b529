//! Strings out of payload bytes without running the full UTF-8 validator on the ASCII ones.
//!
//! Reading a field of an [`EventView`](super::EventView) turns its bytes into a `&str`.
//! `std::str::from_utf8` costs ~80 instructions even for a ten-byte ASCII string (it walks
//! byte by byte until its input is aligned); showing a dashboard row reads five such strings
//! from each record, which was ~15% of a 1,000-record time-range query. An ASCII check is
//! a few word-wide loads; bytes that pass it are UTF-8 by definition, so they can be taken
//! as a `str` without a second check. Anything else goes through `from_utf8` as before.
//!
//! The soundness argument is local (the check is on the very bytes converted), so it does
//! not depend on the payload having been walked before.

/// `bytes` as a `str`, or `None` if it is not UTF-8.
#[inline]
pub(super) fn from_utf8(bytes: &[u8]) -> Option<&str> {
    if is_ascii(bytes) {
        // SAFETY: every byte is below 0x80, and a sequence of ASCII bytes is valid UTF-8
        // (each byte a one-byte code point).
        Some(unsafe { std::str::from_utf8_unchecked(bytes) })
    } else {
        std::str::from_utf8(bytes).ok()
    }
}

const HIGH: u64 = 0x8080_8080_8080_8080;

/// Whether every byte is below 0x80: eight bytes at a time (unaligned loads, no branch per
/// byte), the tail byte by byte. Short strings are the common case, so no alignment dance.
#[inline]
pub(super) fn is_ascii(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(8);
    let mut acc = 0u64;
    for chunk in &mut chunks {
        acc |= word(chunk);
    }
    let tail = chunks.remainder().iter().fold(0u8, |a, &b| a | b);
    acc & HIGH == 0 && tail < 0x80
}

/// As [`is_ascii`], for a whole payload (a few hundred bytes): 32 bytes a step with no
/// early exit, which the compiler turns into vector ORs (`<[u8]>::is_ascii` takes about
/// twice the instructions here).
pub(super) fn is_ascii_long(bytes: &[u8]) -> bool {
    let mut chunks = bytes.chunks_exact(32);
    let mut acc = [0u64; 4];
    for chunk in &mut chunks {
        for (a, w) in acc.iter_mut().zip(chunk.chunks_exact(8)) {
            *a |= word(w);
        }
    }
    (acc[0] | acc[1] | acc[2] | acc[3]) & HIGH == 0 && is_ascii(chunks.remainder())
}

/// Eight bytes as a word (the caller passes exactly eight).
#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_utf8_are_accepted_as_from_utf8_does() {
        let cases: [&[u8]; 8] = [
            b"",
            b"a",
            b"login",
            b"exactly8",
            b"a longer ascii string of 33 bytes",
            "caf\u{e9}".as_bytes(),
            "\u{1F600} at the start, then ascii".as_bytes(),
            "ascii first then a non-ascii char \u{e9}".as_bytes(),
        ];
        for b in cases {
            assert_eq!(from_utf8(b), std::str::from_utf8(b).ok(), "{b:?}");
        }
    }

    #[test]
    fn a_high_byte_anywhere_is_not_taken_as_ascii() {
        // Every position, in the 8-byte chunks and in the tail: a lone 0x80..=0xFF byte is
        // never valid UTF-8, so it must be refused.
        for len in 1..=40 {
            for at in 0..len {
                for high in [0x80u8, 0xC3, 0xFF] {
                    let mut b = vec![b'x'; len];
                    b[at] = high;
                    assert!(!is_ascii(&b), "len {len} at {at}");
                    assert_eq!(from_utf8(&b), None, "len {len} at {at} byte {high:#x}");
                }
            }
            assert!(is_ascii(&vec![0x7F; len]));
        }
    }

    #[test]
    fn long_check_agrees_with_std_at_every_position() {
        for len in 0..=100 {
            let clean = vec![0x7Fu8; len];
            assert!(is_ascii_long(&clean), "len {len}");
            for at in 0..len {
                let mut b = clean.clone();
                b[at] = 0x80;
                assert!(!is_ascii_long(&b), "len {len} at {at}");
                assert_eq!(is_ascii_long(&b), b.is_ascii());
            }
        }
    }
}
