//! Points in time as nanoseconds since the Unix epoch (UTC), and their RFC 3339 text form.
//!
//! The civil-date conversion is Howard Hinnant's `days_from_civil` / `civil_from_days`
//! (proleptic Gregorian calendar), written out here so the crate needs no date library.
//! An `i64` of nanoseconds covers 1677-09-21T00:12:43.145224192Z to
//! 2262-04-11T23:47:16.854775807Z; parsing rejects anything outside that range.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

const NANOS_PER_SEC: i64 = 1_000_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A point in time: nanoseconds since 1970-01-01T00:00:00Z, ignoring leap seconds.
///
/// `Display`, `FromStr` and serde use RFC 3339 text, always written in UTC with a `Z` suffix
/// (see [`Timestamp::to_rfc3339`] and [`Timestamp::parse_rfc3339`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest representable instant, 1677-09-21T00:12:43.145224192Z.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable instant, 2262-04-11T23:47:16.854775807Z.
    pub const MAX: Timestamp = Timestamp(i64::MAX);
    /// The Unix epoch, 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(0);

    /// The instant `n` nanoseconds after the Unix epoch (before it when negative).
    pub const fn from_nanos(n: i64) -> Self {
        Timestamp(n)
    }

    /// Nanoseconds since the Unix epoch.
    pub const fn as_nanos(self) -> i64 {
        self.0
    }

    /// The instant `ms` milliseconds after the Unix epoch, saturating at [`Timestamp::MIN`] /
    /// [`Timestamp::MAX`].
    pub fn from_unix_millis(ms: i64) -> Self {
        Timestamp(ms.saturating_mul(1_000_000))
    }

    /// The instant `s` seconds after the Unix epoch, saturating at [`Timestamp::MIN`] /
    /// [`Timestamp::MAX`].
    pub fn from_unix_secs(s: i64) -> Self {
        Timestamp(s.saturating_mul(NANOS_PER_SEC))
    }

    /// The current wall-clock time ([`SystemTime::now`]), saturating outside the `i64` range.
    pub fn now() -> Self {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp(i64::try_from(after.as_nanos()).unwrap_or(i64::MAX)),
            Err(before) => {
                Timestamp(i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |n| -n))
            }
        }
    }

    /// Parses RFC 3339 text such as `2024-02-29T13:45:00.5+01:00`.
    ///
    /// Accepted: a four-digit year, `T`, `t` or a space between date and time, seconds with
    /// 0 to 9 fractional digits, and `Z`, `z` or a `±hh:mm` offset. The result is converted to
    /// UTC. Rejected, with a message saying why: anything else, impossible dates (February 30),
    /// leap seconds (second 60), and instants outside the range of [`Timestamp`].
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampParseError> {
        parse(s.as_bytes()).map_err(|reason| TimestampParseError::new(s, reason))
    }

    /// RFC 3339 text in UTC with a `Z` suffix, e.g. `2024-02-29T12:45:00.500Z`.
    ///
    /// The fraction is omitted when it is zero, otherwise written with 3, 6 or 9 digits:
    /// the shortest of these that is exact.
    pub fn to_rfc3339(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; RFC3339_MAX];
        f.write_str(self.rfc3339_into(&mut buf))
    }
}

/// The longest text [`Timestamp`] prints: `2262-04-11T23:47:16.854775807Z`.
const RFC3339_MAX: usize = 30;

impl Timestamp {
    /// Writes the RFC 3339 text into `buf` digit by digit and returns it. Every receipt,
    /// query row and export line prints a timestamp, and `write!` with padded integers cost
    /// about 3,000 instructions a time, a twentieth of the server's ingest.
    fn rfc3339_into(self, buf: &mut [u8; RFC3339_MAX]) -> &str {
        fn digits(out: &mut [u8], mut n: u64) {
            for b in out.iter_mut().rev() {
                *b = b'0' + (n % 10) as u8;
                n /= 10;
            }
        }
        let secs = self.0.div_euclid(NANOS_PER_SEC);
        let nanos = self.0.rem_euclid(NANOS_PER_SEC) as u64;
        let days = secs.div_euclid(SECS_PER_DAY);
        let sod = secs.rem_euclid(SECS_PER_DAY) as u64;
        let (year, month, day) = civil_from_days(days);
        // The i64 range spans the years 1677 to 2262: always four digits.
        digits(&mut buf[0..4], year as u64);
        buf[4] = b'-';
        digits(&mut buf[5..7], u64::from(month));
        buf[7] = b'-';
        digits(&mut buf[8..10], u64::from(day));
        buf[10] = b'T';
        digits(&mut buf[11..13], sod / 3600);
        buf[13] = b':';
        digits(&mut buf[14..16], sod / 60 % 60);
        buf[16] = b':';
        digits(&mut buf[17..19], sod % 60);
        let mut end = 19;
        // The shortest of 0, 3, 6 or 9 fraction digits that is exact.
        let fraction = match nanos {
            0 => None,
            n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
            n if n % 1_000 == 0 => Some((n / 1_000, 6)),
            n => Some((n, 9)),
        };
        if let Some((value, width)) = fraction {
            buf[end] = b'.';
            digits(&mut buf[end + 1..end + 1 + width], value);
            end += 1 + width;
        }
        buf[end] = b'Z';
        // Only ASCII digits and separators were written.
        std::str::from_utf8(&buf[..=end]).unwrap_or_default()
    }

    /// Appends the RFC 3339 text (as [`Display`](fmt::Display) prints it) to `out`, without
    /// the formatting machinery.
    pub fn push_rfc3339(self, out: &mut String) {
        let mut buf = [0u8; RFC3339_MAX];
        out.push_str(self.rfc3339_into(&mut buf));
    }
}

impl FromStr for Timestamp {
    type Err = TimestampParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TimestampVisitor;

        impl Visitor<'_> for TimestampVisitor {
            type Value = Timestamp;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an RFC 3339 timestamp string")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Timestamp, E> {
                Timestamp::parse_rfc3339(v).map_err(E::custom)
            }
        }

        deserializer.deserialize_str(TimestampVisitor)
    }
}

/// Why a string is not an acceptable RFC 3339 timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampParseError {
    /// The rejected input, cut to at most 64 bytes.
    input: String,
    reason: &'static str,
}

impl TimestampParseError {
    fn new(input: &str, reason: &'static str) -> Self {
        let mut end = input.len().min(64);
        while !input.is_char_boundary(end) {
            end -= 1;
        }
        TimestampParseError {
            input: input[..end].to_owned(),
            reason,
        }
    }

    /// What is wrong with the input, e.g. "the month must be 01 to 12".
    pub fn reason(&self) -> &str {
        self.reason
    }
}

impl fmt::Display for TimestampParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid RFC 3339 timestamp {:?}: {} (example: 2024-05-01T14:30:00.250+02:00)",
            self.input, self.reason
        )
    }
}

impl std::error::Error for TimestampParseError {}

/// Days since 1970-01-01 of a proleptic Gregorian date (`month` 1..=12, `day` 1..=31).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400); // [0, 399]
    let mp = i64::from((month + 9) % 12); // March = 0
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1; // [0, 365]
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097); // [0, 146096]
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365; // [0, 399]
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
    let mp = (5 * doy + 2) / 153; // [0, 11]
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A cursor over the input bytes; every accessor checks bounds.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn digits(&mut self, n: usize, what: &'static str) -> Result<u32, &'static str> {
        let digits = self.bytes.get(self.pos..self.pos + n).ok_or(what)?;
        let mut value = 0u32;
        for &b in digits {
            if !b.is_ascii_digit() {
                return Err(what);
            }
            value = value * 10 + u32::from(b - b'0');
        }
        self.pos += n;
        Ok(value)
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), &'static str> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(what)
        }
    }
}

fn parse(bytes: &[u8]) -> Result<Timestamp, &'static str> {
    let mut c = Cursor { bytes, pos: 0 };
    let year = c.digits(4, "expected a four-digit year at the start")?;
    c.expect(b'-', "expected '-' after the year")?;
    let month = c.digits(2, "expected a two-digit month after the year")?;
    c.expect(b'-', "expected '-' after the month")?;
    let day = c.digits(2, "expected a two-digit day after the month")?;
    match c.peek() {
        Some(b'T' | b't' | b' ') => c.pos += 1,
        _ => return Err("expected 'T' or a space between the date and the time"),
    }
    let hour = c.digits(2, "expected a two-digit hour after the date")?;
    c.expect(b':', "expected ':' after the hour")?;
    let minute = c.digits(2, "expected two-digit minutes after the hour")?;
    c.expect(b':', "expected ':' after the minutes")?;
    let second = c.digits(2, "expected two-digit seconds after the minutes")?;

    let mut nanos = 0u32;
    if c.peek() == Some(b'.') {
        c.pos += 1;
        let start = c.pos;
        while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
            if c.pos - start == 9 {
                return Err("at most 9 fractional digits (nanoseconds) are supported");
            }
            nanos = nanos * 10 + u32::from(b - b'0');
            c.pos += 1;
        }
        let n = c.pos - start;
        if n == 0 {
            return Err("expected digits after the decimal point");
        }
        nanos *= 10u32.pow((9 - n) as u32);
    }

    let offset_secs: i64 = match c.peek() {
        Some(b'Z' | b'z') => {
            c.pos += 1;
            0
        }
        Some(sign @ (b'+' | b'-')) => {
            c.pos += 1;
            let oh = c.digits(2, "expected a two-digit offset hour after the sign")?;
            c.expect(b':', "expected ':' in the UTC offset (±hh:mm)")?;
            let om = c.digits(2, "expected two-digit offset minutes")?;
            if oh > 23 || om > 59 {
                return Err("the UTC offset must be between -23:59 and +23:59");
            }
            let secs = i64::from(oh * 3600 + om * 60);
            if sign == b'-' { -secs } else { secs }
        }
        _ => return Err("expected 'Z' or a UTC offset (±hh:mm) after the time"),
    };
    if c.pos != bytes.len() {
        return Err("unexpected characters after the UTC offset");
    }

    if !(1..=12).contains(&month) {
        return Err("the month must be 01 to 12");
    }
    if day == 0 || day > days_in_month(i64::from(year), month) {
        return Err("the day does not exist in that month");
    }
    if hour > 23 {
        return Err("the hour must be 00 to 23");
    }
    if minute > 59 {
        return Err("the minutes must be 00 to 59");
    }
    if second == 60 {
        return Err("leap seconds (second 60) are not supported");
    }
    if second > 59 {
        return Err("the seconds must be 00 to 59");
    }

    // Cannot overflow i64: |days| < 4e6 and the time of day is bounded.
    let secs = days_from_civil(i64::from(year), month, day) * SECS_PER_DAY
        + i64::from(hour * 3600 + minute * 60 + second)
        - offset_secs;
    let total = i128::from(secs) * i128::from(NANOS_PER_SEC) + i128::from(nanos);
    i64::try_from(total).map(Timestamp).map_err(|_| {"outside the representable range 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z"
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn civil_round_trip_over_many_years() {
        // Every day from 1600-01-01 to 2400-12-31, which crosses several 400-year eras.
        let start = days_from_civil(1600, 1, 1);
        let end = days_from_civil(2400, 12, 31);
        let (mut y, mut m, mut d) = (1600, 1, 1);
        for days in start..=end {
            assert_eq!(civil_from_days(days), (y, m, d), "day {days}");
            assert_eq!(days_from_civil(y, m, d), days);
            d += 1;
            if d > days_in_month(y, m) {
                d = 1;
                m += 1;
                if m > 12 {
                    m = 1;
                    y += 1;
                }
            }
        }
    }

    #[test]
    fn known_dates() {
        assert_eq!(ts("1970-01-01T00:00:00Z").as_nanos(), 0);
        assert_eq!(
            ts("2000-01-01T00:00:00Z"),
            Timestamp::from_unix_secs(946_684_800)
        );
        assert_eq!(
            ts("2024-02-29T00:00:00Z"),
            Timestamp::from_unix_secs(1_709_164_800)
        );
        assert_eq!(
            ts("2000-02-29T12:00:00Z"),
            Timestamp::from_unix_secs(951_825_600)
        );
        assert_eq!(
            ts("2038-01-19T03:14:08Z"),
            Timestamp::from_unix_secs(1 << 31)
        );
        assert_eq!(ts("1969-12-31T23:59:59Z"), Timestamp::from_unix_secs(-1));
        assert_eq!(
            ts("1900-01-01T00:00:00Z"),
            Timestamp::from_unix_secs(-2_208_988_800)
        );
        assert_eq!(
            Timestamp::from_unix_secs(1_709_164_800).to_rfc3339(),
            "2024-02-29T00:00:00Z"
        );
        assert_eq!(
            Timestamp::from_unix_secs(-2_208_988_800).to_rfc3339(),
            "1900-01-01T00:00:00Z"
        );
    }

    #[test]
    fn leap_years() {
        assert!(Timestamp::parse_rfc3339("2000-02-29T00:00:00Z").is_ok());
        assert!(Timestamp::parse_rfc3339("2024-02-29T00:00:00Z").is_ok());
        let e = Timestamp::parse_rfc3339("1900-02-29T00:00:00Z").unwrap_err();
        assert_eq!(e.reason(), "the day does not exist in that month");
        assert!(Timestamp::parse_rfc3339("2023-02-29T00:00:00Z").is_err());
        assert!(Timestamp::parse_rfc3339("2023-04-31T00:00:00Z").is_err());
    }

    #[test]
    fn pre_1970_with_fraction() {
        let t = Timestamp::from_nanos(-1);
        assert_eq!(t.to_rfc3339(), "1969-12-31T23:59:59.999999999Z");
        assert_eq!(ts("1969-12-31T23:59:59.999999999Z"), t);
        let t = Timestamp::from_unix_millis(-1500);
        assert_eq!(t.to_rfc3339(), "1969-12-31T23:59:58.500Z");
        assert_eq!(ts("1969-12-31T23:59:58.5Z"), t);
    }

    #[test]
    fn offsets_convert_to_utc() {
        let utc = ts("2024-05-01T12:30:00Z");
        assert_eq!(ts("2024-05-01T14:30:00+02:00"), utc);
        assert_eq!(ts("2024-05-01T07:00:00-05:30"), utc);
        assert_eq!(ts("2024-05-01T12:30:00-00:00"), utc);
        assert_eq!(
            ts("2024-05-02T00:29:00+11:59").to_rfc3339(),
            "2024-05-01T12:30:00Z"
        );
        assert_eq!(
            ts("2024-01-01T00:30:00+01:00").to_rfc3339(),
            "2023-12-31T23:30:00Z"
        );
    }

    #[test]
    fn separators_and_case() {
        let t = ts("2024-05-01T12:30:00Z");
        assert_eq!(ts("2024-05-01 12:30:00Z"), t);
        assert_eq!(ts("2024-05-01t12:30:00z"), t);
    }

    #[test]
    fn fraction_digits_scale_and_trim() {
        let base = ts("2024-05-01T12:30:00Z").as_nanos();
        for (text, nanos) in [
            (".1", 100_000_000),
            (".12", 120_000_000),
            (".123", 123_000_000),
            (".1234", 123_400_000),
            (".000001", 1_000),
            (".123456789", 123_456_789),
            (".000000001", 1),
            (".0", 0),
        ] {
            assert_eq!(
                ts(&format!("2024-05-01T12:30:00{text}Z")).as_nanos(),
                base + nanos,
                "{text}"
            );
        }
        let show = |n: i64| Timestamp::from_nanos(base + n).to_rfc3339();
        assert_eq!(show(0), "2024-05-01T12:30:00Z");
        assert_eq!(show(100_000_000), "2024-05-01T12:30:00.100Z");
        assert_eq!(show(123_400_000), "2024-05-01T12:30:00.123400Z");
        assert_eq!(show(1_000), "2024-05-01T12:30:00.000001Z");
        assert_eq!(show(1), "2024-05-01T12:30:00.000000001Z");
        assert_eq!(show(999_999_999), "2024-05-01T12:30:00.999999999Z");
    }

    /// The digit-by-digit printer against the `write!` one it replaced, on instants spread
    /// over the whole range (every fraction width, both sides of the epoch, the extremes).
    #[test]
    fn printing_matches_the_padded_format_it_replaced() {
        fn reference(t: Timestamp) -> String {
            let secs = t.0.div_euclid(NANOS_PER_SEC);
            let nanos = t.0.rem_euclid(NANOS_PER_SEC);
            let (year, month, day) = civil_from_days(secs.div_euclid(SECS_PER_DAY));
            let sod = secs.rem_euclid(SECS_PER_DAY);
            let mut s = format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
                sod / 3600,
                sod / 60 % 60,
                sod % 60
            );
            if nanos == 0 {
            } else if nanos % 1_000_000 == 0 {
                s += &format!(".{:03}", nanos / 1_000_000);
            } else if nanos % 1_000 == 0 {
                s += &format!(".{:06}", nanos / 1_000);
            } else {
                s += &format!(".{nanos:09}");
            }
            s + "Z"
        }
        let mut n: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut instants = vec![
            i64::MIN,
            i64::MAX,
            0,
            -1,
            1,
            -NANOS_PER_SEC,
            951_782_400 * NANOS_PER_SEC,
        ];
        for _ in 0..20_000 {
            n ^= n << 13;
            n ^= n >> 7;
            n ^= n << 17;
            let raw = n as i64;
            // Whole seconds, milliseconds, microseconds and nanoseconds, in turn.
            let unit = [NANOS_PER_SEC, 1_000_000, 1_000, 1][(n >> 60) as usize % 4];
            instants.push(raw - raw % unit);
        }
        for t in instants.into_iter().map(Timestamp) {
            let mut pushed = String::from("x");
            t.push_rfc3339(&mut pushed);
            assert_eq!(t.to_string(), reference(t), "{}", t.0);
            assert_eq!(pushed[1..], reference(t));
        }
    }

    #[test]
    fn extremes_round_trip_and_overflow_is_rejected() {
        for t in [Timestamp::MIN, Timestamp::MAX, Timestamp::UNIX_EPOCH] {
            assert_eq!(ts(&t.to_rfc3339()), t);
        }
        assert_eq!(
            Timestamp::MIN.to_rfc3339(),
            "1677-09-21T00:12:43.145224192Z"
        );
        assert_eq!(
            Timestamp::MAX.to_rfc3339(),
            "2262-04-11T23:47:16.854775807Z"
        );
        for s in [
            "2262-04-11T23:47:16.854775808Z",
            "1677-09-21T00:12:43.145224191Z",
            "9999-12-31T23:59:59Z",
            "0000-01-01T00:00:00Z",
        ] {
            let e = Timestamp::parse_rfc3339(s).unwrap_err();
            assert!(
                e.reason().starts_with("outside the representable range"),
                "{s}: {e}"
            );
        }
    }

    #[test]
    fn saturating_constructors() {
        assert_eq!(Timestamp::from_unix_secs(i64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::from_unix_millis(i64::MIN), Timestamp::MIN);
        assert_eq!(Timestamp::from_unix_millis(1_500).as_nanos(), 1_500_000_000);
        let now = Timestamp::now();
        assert!(now > ts("2020-01-01T00:00:00Z") && now < Timestamp::MAX);
    }

    #[test]
    fn garbage_is_rejected_with_a_reason() {
        for (input, reason) in [
            ("", "expected a four-digit year at the start"),
            ("yesterday", "expected a four-digit year at the start"),
            (
                "2024-5-01T00:00:00Z",
                "expected a two-digit month after the year",
            ),
            (
                "2024-05-01",
                "expected 'T' or a space between the date and the time",
            ),
            ("2024-05-01T12:30Z", "expected ':' after the minutes"),
            (
                "2024-05-01T12:30:00",
                "expected 'Z' or a UTC offset (±hh:mm) after the time",
            ),
            (
                "2024-05-01T12:30:00.Z",
                "expected digits after the decimal point",
            ),
            (
                "2024-05-01T12:30:00.1234567891Z",
                "at most 9 fractional digits (nanoseconds) are supported",
            ),
            (
                "2024-05-01T12:30:00+0200",
                "expected ':' in the UTC offset (±hh:mm)",
            ),
            (
                "2024-05-01T12:30:00+24:00",
                "the UTC offset must be between -23:59 and +23:59",
            ),
            (
                "2024-05-01T12:30:00Zjunk",
                "unexpected characters after the UTC offset",
            ),
            ("2024-13-01T12:30:00Z", "the month must be 01 to 12"),
            ("2024-00-01T12:30:00Z", "the month must be 01 to 12"),
            (
                "2024-05-00T12:30:00Z",
                "the day does not exist in that month",
            ),
            ("2024-05-01T24:00:00Z", "the hour must be 00 to 23"),
            ("2024-05-01T12:60:00Z", "the minutes must be 00 to 59"),
            (
                "2016-12-31T23:59:60Z",
                "leap seconds (second 60) are not supported",
            ),
            ("2024-05-01T12:30:61Z", "the seconds must be 00 to 59"),
            (
                "+2024-05-01T12:30:00Z",
                "expected a four-digit year at the start",
            ),
            (
                "２０２４-05-01T12:30:00Z",
                "expected a four-digit year at the start",
            ),
        ] {
            let e = Timestamp::parse_rfc3339(input).unwrap_err();
            assert_eq!(e.reason(), reason, "{input:?}");
        }
        let e = Timestamp::parse_rfc3339("nope").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("invalid RFC 3339 timestamp \"nope\": expected a four-digit year")
        );
        // A long input is cut in the message, on a character boundary.
        let long = "é".repeat(100);
        let e = Timestamp::parse_rfc3339(&long).unwrap_err();
        assert!(e.to_string().len() < 250);
    }

    #[test]
    fn display_fromstr_and_serde() {
        let t: Timestamp = "2024-05-01T14:30:00.25+02:00".parse().unwrap();
        assert_eq!(t.to_string(), "2024-05-01T12:30:00.250Z");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, "\"2024-05-01T12:30:00.250Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
        assert!(serde_json::from_str::<Timestamp>("12345").is_err());
        let err = serde_json::from_str::<Timestamp>("\"2024-02-30T00:00:00Z\"").unwrap_err();
        assert!(err.to_string().contains("the day does not exist"), "{err}");
    }
}
