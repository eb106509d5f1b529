//! Segment file names, built and parsed in this one place.
//!
//! A segment is named by its first sequence number, zero-padded to 20 digits so that names
//! sort in log order: `00000000000000001234.seg`, or `.zseg` once compressed (a cold
//! segment). A segment being created is first written under the same name with `.tmp`
//! appended and renamed into place once durable.

use std::path::{Path, PathBuf};

/// Extension of a hot (uncompressed) segment.
pub const SEGMENT_EXT: &str = "seg";
/// Extension of a cold (zstd-compressed) segment.
pub const COLD_SEGMENT_EXT: &str = "zseg";
/// Suffix of files still being written; leftovers are removed on open.
pub const TMP_SUFFIX: &str = ".tmp";

/// The file name of the segment whose first sequence number is `first_seq`.
pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.{SEGMENT_EXT}")
}

/// The path of that segment in `dir`.
pub fn segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(segment_file_name(first_seq))
}

/// The temporary path used while creating that segment.
pub fn segment_tmp_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(format!("{}{TMP_SUFFIX}", segment_file_name(first_seq)))
}

/// Parses a file name produced by [`segment_file_name`]; anything else is `None`.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    parse_with_ext(name, SEGMENT_EXT)
}

/// The file name of the cold segment whose first sequence number is `first_seq`.
pub fn cold_segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}.{COLD_SEGMENT_EXT}")
}

/// The path of that cold segment in `dir`.
pub fn cold_segment_path(dir: &Path, first_seq: u64) -> PathBuf {
    dir.join(cold_segment_file_name(first_seq))
}

/// Parses a file name produced by [`cold_segment_file_name`]; anything else is `None`.
pub fn parse_cold_segment_file_name(name: &str) -> Option<u64> {
    parse_with_ext(name, COLD_SEGMENT_EXT)
}

/// Parses the first sequence number of any file named after a segment
/// (`<20 digits>.<extension>`, e.g. a segment, a cold segment or an index file), excluding
/// temporary files. Retention and archiving remove or move all of them together.
pub fn parse_segment_family_name(name: &str) -> Option<u64> {
    let (digits, ext) = name.split_once('.')?;
    if ext.is_empty() || ext.ends_with(TMP_SUFFIX.trim_start_matches('.')) {
        return None;
    }
    parse_digits(digits)
}

fn parse_with_ext(name: &str, ext: &str) -> Option<u64> {
    parse_digits(name.strip_suffix(ext)?.strip_suffix('.')?)
}

fn parse_digits(digits: &str) -> Option<u64> {
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// Whether `path` names a cold segment.
pub fn is_cold(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == COLD_SEGMENT_EXT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort() {
        for seq in [0, 1, 999, u64::MAX] {
            assert_eq!(parse_segment_file_name(&segment_file_name(seq)), Some(seq));
        }
        assert!(segment_file_name(9) < segment_file_name(10));
        for bad in [
            "1.seg",
            "0000000000000000000a.seg",
            "00000000000000000001.seg.tmp",
            "x",
        ] {
            assert_eq!(parse_segment_file_name(bad), None, "{bad}");
        }
        assert_eq!(
            parse_cold_segment_file_name(&cold_segment_file_name(7)),
            Some(7)
        );
        assert_eq!(parse_cold_segment_file_name(&segment_file_name(7)), None);
        assert_eq!(parse_segment_file_name(&cold_segment_file_name(7)), None);
        assert_eq!(
            parse_segment_family_name("00000000000000000007.idx"),
            Some(7)
        );
        assert_eq!(
            parse_segment_family_name("00000000000000000007.zseg.tmp"),
            None
        );
        assert_eq!(parse_segment_family_name("00000000000000000007"), None);
    }
}
