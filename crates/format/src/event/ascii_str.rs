//! Strings out of payload bytes without running the full UTF-8 validator on the ASCII ones.
//!
//! Reading a field of an [`EventView`](super::EventView) turns its bytes into a `&str`.
//! `std::str::from_utf8` cost ~80 instructions per short string read here (callgrind);
//! showing a dashboard row reads five strings from each record, which was ~13% of a
//! 1,000-record time-range query (perf). An ASCII check is a few word-wide loads; bytes that
//! pass it are UTF-8 by definition, so they can be taken as a `str` without a second check.
//! Anything else goes through `from_utf8` as before.
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

/// Whether every byte is below 0x80: eight bytes at a time (unaligned loads), then the last
/// eight bytes again, overlapping, instead of a byte loop over the tail: a loop whose trip
/// count changes from string to string is a branch mispredicted about once per string.
#[inline]
pub(super) fn is_ascii(bytes: &[u8]) -> bool {
    let n = bytes.len();
    let acc = match n.checked_sub(8) {
        Some(last) => {
            let mut acc = word_at(bytes, last);
            for chunk in bytes.chunks_exact(8) {
                acc |= word(chunk);
            }
            acc
        }
        None => short_word(bytes),
    };
    acc & HIGH == 0
}

/// As [`is_ascii`], for a whole payload (a few hundred bytes): 32 bytes a step with no
/// early exit, which the compiler turns into vector ORs, then the last 32 bytes again
/// (`<[u8]>::is_ascii` took about twice the instructions here, and a tail loop).
pub(super) fn is_ascii_long(bytes: &[u8]) -> bool {
    let Some(last) = bytes.len().checked_sub(32) else {
        return is_ascii(bytes);
    };
    let mut acc = [0u64; 4];
    let tail = bytes.get(last..).unwrap_or_default();
    for chunk in bytes.chunks_exact(32).chain([tail]) {
        for (a, w) in acc.iter_mut().zip(chunk.chunks_exact(8)) {
            *a |= word(w);
        }
    }
    (acc[0] | acc[1] | acc[2] | acc[3]) & HIGH == 0
}

/// Eight bytes as a word (the caller passes exactly eight).
#[inline(always)]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_le_bytes(w)
}

/// The eight bytes at `at` as a word (0 if there are fewer; callers pass `len - 8`).
#[inline(always)]
fn word_at(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + 8)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u64::from_le_bytes)
}

/// All the bytes of a string shorter than eight, ORed into the low bytes of a word: two
/// overlapping loads of the largest width that fits, no loop.
#[inline(always)]
fn short_word(bytes: &[u8]) -> u64 {
    let n = bytes.len();
    let pair = |w: usize| -> Option<u64> {
        let head = bytes.get(..w)?;
        let tail = bytes.get(n - w..)?;
        let load = |b: &[u8]| b.iter().rev().fold(0u64, |a, &x| (a << 8) | u64::from(x));
        Some(load(head) | load(tail))
    };
    match n {
        4.. => pair(4),
        2.. => pair(2),
        1 => pair(1),
        _ => Some(0),
    }
    .unwrap_or(0)
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
