//! Times typed on the command line, in the forms `journalctl --since` takes (systemd.time(7)).
//!
//! - `now`; `today`, `yesterday`, `tomorrow` (local midnight; add ` UTC` for UTC midnight);
//! - a date and time: `2023-09-06`, `2023-09-06 07:20`, `2023-09-06 07:20:00[.fraction]`
//!   (`T` or a space between), or a time alone (`07:20[:00]`, today). These are local time
//!   unless they end in `Z`, ` UTC` or an offset (`+02:00`), so RFC 3339 reads as itself;
//! - a span before now: `-1h`, `1h30m ago`, or bare `30m` / `1h30m`; after now: `+2h`,
//!   `2h left`. Units: `us`, `ms`, `s`, `m`/`min`, `h`, `d`, `w`, `M`/`month` (30.44 days),
//!   `y` (365.25 days), and their long names (`sec`, `minutes`, `hours`, `days`, ...);
//! - epoch seconds: `@1700000000` (a fraction is allowed: `@1700000000.5`), or the bare
//!   number when it has at least nine digits before any fraction (`1700000000`): shorter bare
//!   numbers such as `07` are refused rather than guessed at.
//!
//! Everything is resolved against a [`Clock`] (the current time and the time zone), so tests
//! pass a fixed one and never depend on the wall clock or the machine's zone.

use super::CliError;
use auditlog::Timestamp;

const NANOS: i64 = 1_000_000_000;
const DAY_SECS: i64 = 86_400;

/// The forms a time may take, for error messages.
pub const ACCEPTED: &str = "now, today, yesterday, tomorrow, 2023-09-06, 2023-09-06 07:20[:00] \
     (local time; end with Z, ' UTC' or +02:00 for another zone), RFC 3339, 07:20 (today), \
     -1h, 1h30m, '5min ago', +2h, or epoch seconds @1700000000 (or 1700000000)";

/// How wall-clock times map to instants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// The machine's local zone (`TZ`, `/etc/localtime`), daylight saving time included.
    Local,
    /// A fixed offset from UTC, in seconds east (0 is UTC).
    Fixed(i32),
}

impl Zone {
    /// Seconds east of UTC at the instant `secs` (Unix seconds).
    pub fn offset_at(self, secs: i64) -> i32 {
        match self {
            Zone::Fixed(offset) => offset,
            Zone::Local => local_offset(secs),
        }
    }

    /// The instant at which local clocks show `wall` (Unix seconds as if the wall time were
    /// UTC). In a gap (spring forward) the later offset applies; in a repeat, the earlier.
    fn instant_of(self, wall: i64) -> i64 {
        let first = wall - i64::from(self.offset_at(wall));
        wall - i64::from(self.offset_at(first))
    }
}

/// The seconds east of UTC of the local zone at `secs`, from the C library (0 if it cannot
/// tell).
#[allow(unsafe_code)]
fn local_offset(secs: i64) -> i32 {
    // 64-bit on every platform this builds for (Linux, as `MetadataExt` elsewhere requires).
    let t: libc::time_t = secs;
    // SAFETY: `localtime_r` writes only into `tm`, which lives on this stack frame and is a
    // plain C struct for which all-zero bytes are a valid value; `t` outlives the call.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return 0;
        }
        i32::try_from(tm.tm_gmtoff).unwrap_or(0)
    }
}

/// The current time and the zone to read wall times in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    pub now: Timestamp,
    pub zone: Zone,
}

impl Clock {
    /// The wall clock and the local zone.
    pub fn system() -> Self {
        Clock {
            now: Timestamp::now(),
            zone: Zone::Local,
        }
    }

    /// `now` in the local zone.
    pub fn local_at(now: Timestamp) -> Self {
        Clock {
            now,
            zone: Zone::Local,
        }
    }
}

/// Reads `text` as a time (see the module docs); the error names the accepted forms.
pub fn parse(text: &str, clock: Clock) -> Result<Timestamp, CliError> {
    read(text.trim(), clock).ok_or_else(|| {
        CliError::Usage(format!(
            "cannot read the time {text:?}: give one of {ACCEPTED}"
        ))
    })
}

fn read(text: &str, clock: Clock) -> Option<Timestamp> {
    let now = clock.now.as_nanos();
    let lower = text.to_ascii_lowercase();
    let (word, zone) = match lower.strip_suffix(" utc") {
        Some(w) => (w.trim_end(), Zone::Fixed(0)),
        None => (lower.as_str(), clock.zone),
    };
    let days = match word {
        "now" => return Some(clock.now),
        "today" => Some(0),
        "yesterday" => Some(-1),
        "tomorrow" => Some(1),
        _ => None,
    };
    if let Some(days) = days {
        let secs = now.div_euclid(NANOS);
        let wall = secs + i64::from(zone.offset_at(secs));
        let midnight = wall - wall.rem_euclid(DAY_SECS) + days * DAY_SECS;
        return from_secs(zone.instant_of(midnight), 0);
    }
    if let Some(epoch) = text.strip_prefix('@') {
        return epoch_seconds(epoch);
    }
    if bare_epoch(text) {
        return epoch_seconds(text);
    }
    if let Some(span) = text.strip_prefix('-') {
        return Some(Timestamp::from_nanos(now.saturating_sub(span_nanos(span)?)));
    }
    if let Some(span) = text.strip_prefix('+') {
        return Some(Timestamp::from_nanos(now.saturating_add(span_nanos(span)?)));
    }
    if let Some(span) = text.strip_suffix(" ago") {
        return Some(Timestamp::from_nanos(now.saturating_sub(span_nanos(span)?)));
    }
    if let Some(span) = text.strip_suffix(" left") {
        return Some(Timestamp::from_nanos(now.saturating_add(span_nanos(span)?)));
    }
    if let Some(ago) = span_nanos(text) {
        return Some(Timestamp::from_nanos(now.saturating_sub(ago)));
    }
    date_time(text, clock)
}

/// `2023-09-06[ 07:20[:00[.f]]][Z| UTC|±hh:mm]` or `07:20[:00]` (today).
fn date_time(text: &str, clock: Clock) -> Option<Timestamp> {
    let (body, zone) = split_zone(text);
    let zone = zone.unwrap_or(clock.zone);
    let (date, time) = match body.split_once([' ', 'T', 't']) {
        Some((d, t)) => (d.to_string(), t.trim()),
        None if body.contains(':') => {
            let secs = clock.now.as_nanos().div_euclid(NANOS);
            let wall = secs + i64::from(zone.offset_at(secs));
            let today = Timestamp::from_unix_secs(wall).to_rfc3339();
            (today.get(..10)?.to_string(), body)
        }
        None => (body.to_string(), "00:00:00"),
    };
    let time = match time.bytes().filter(|&b| b == b':').count() {
        1 => format!("{time}:00"),
        2 => time.to_string(),
        _ => return None,
    };
    // The wall time read as if it were UTC, then moved to the zone's instant.
    let wall = Timestamp::parse_rfc3339(&format!("{date}T{time}Z")).ok()?;
    let (secs, frac) = (
        wall.as_nanos().div_euclid(NANOS),
        wall.as_nanos().rem_euclid(NANOS),
    );
    from_secs(zone.instant_of(secs), frac)
}

/// Splits a trailing `Z`, ` UTC` or `±hh:mm` / `±hhmm` offset off a date and time.
fn split_zone(text: &str) -> (&str, Option<Zone>) {
    if let Some(body) = text
        .strip_suffix(['Z', 'z'])
        .or_else(|| text.strip_suffix(" UTC"))
        .or_else(|| text.strip_suffix(" utc"))
    {
        return (body.trim_end(), Some(Zone::Fixed(0)));
    }
    // An offset needs a time before it (so a date's own `-` is not taken for one).
    let Some(colon) = text.find(':') else {
        return (text, None);
    };
    if let Some(at) = text.rfind(['+', '-']).filter(|&at| at > colon) {
        let (body, offset) = text.split_at(at);
        let digits: String = offset[1..].chars().filter(|c| *c != ':').collect();
        if digits.len() == 4 && digits.bytes().all(|b| b.is_ascii_digit()) {
            let h: i32 = digits[..2].parse().unwrap_or(99);
            let m: i32 = digits[2..].parse().unwrap_or(99);
            if h < 24 && m < 60 {
                let east = (h * 3600 + m * 60) * if offset.starts_with('-') { -1 } else { 1 };
                return (body.trim_end(), Some(Zone::Fixed(east)));
            }
        }
    }
    (text, None)
}

fn from_secs(secs: i64, frac: i64) -> Option<Timestamp> {
    secs.checked_mul(NANOS)
        .and_then(|n| n.checked_add(frac))
        .map(Timestamp::from_nanos)
}

/// Whether `text` is a bare epoch: nine or more digits (1973 onwards), perhaps a fraction.
/// journalctl needs the `@`; people paste the number alone, and nothing else reads as one.
fn bare_epoch(text: &str) -> bool {
    let whole = text.split_once('.').map_or(text, |(w, _)| w);
    whole.len() >= 9 && whole.bytes().all(|b| b.is_ascii_digit())
}

/// `1700000000` or `1700000000.25`, seconds since the epoch.
fn epoch_seconds(text: &str) -> Option<Timestamp> {
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let nanos = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().ok()?
    };
    from_secs(whole.parse().ok()?, nanos)
}

/// A time span such as `1h30m`, `2h 30min`, `90s`, `5 days`, in nanoseconds; `None` unless
/// the whole text is one.
pub fn span_nanos(text: &str) -> Option<i64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return None;
        }
        let n: i64 = rest[..digits].parse().ok()?;
        rest = rest[digits..].trim_start();
        let unit_len = rest.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let unit_nanos = unit(&rest[..unit_len])?;
        rest = rest[unit_len..].trim_start();
        total = total.checked_add(n.checked_mul(unit_nanos)?)?;
    }
    Some(total)
}

/// Nanoseconds in a systemd.time(7) unit; `m` is minutes and `M` months, as there.
fn unit(name: &str) -> Option<i64> {
    const MIN: i64 = 60 * NANOS;
    Some(match name {
        "us" | "usec" | "µs" => 1_000,
        "ms" | "msec" => 1_000_000,
        "s" | "sec" | "second" | "seconds" => NANOS,
        "m" | "min" | "minute" | "minutes" => MIN,
        "h" | "hr" | "hour" | "hours" => 60 * MIN,
        "d" | "day" | "days" => DAY_SECS * NANOS,
        "w" | "week" | "weeks" => 7 * DAY_SECS * NANOS,
        "M" | "month" | "months" => 2_629_800 * NANOS,
        "y" | "year" | "years" => 31_557_600 * NANOS,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2023-09-06T10:00:00Z, in a zone two hours east of UTC (so local 12:00).
    fn clock() -> Clock {
        Clock {
            now: Timestamp::parse_rfc3339("2023-09-06T10:00:00Z").expect("valid"),
            zone: Zone::Fixed(2 * 3600),
        }
    }

    fn at(text: &str) -> Option<String> {
        parse(text, clock()).ok().map(|t| t.to_rfc3339())
    }

    #[test]
    fn every_documented_form_reads() {
        let cases = [
            ("now", "2023-09-06T10:00:00Z"),
            ("today", "2023-09-05T22:00:00Z"),
            ("TODAY", "2023-09-05T22:00:00Z"),
            ("yesterday", "2023-09-04T22:00:00Z"),
            ("tomorrow", "2023-09-06T22:00:00Z"),
            ("today UTC", "2023-09-06T00:00:00Z"),
            ("-1h", "2023-09-06T09:00:00Z"),
            ("-30m", "2023-09-06T09:30:00Z"),
            ("1h30m", "2023-09-06T08:30:00Z"),
            ("2h 30min", "2023-09-06T07:30:00Z"),
            ("1h30m ago", "2023-09-06T08:30:00Z"),
            ("5min ago", "2023-09-06T09:55:00Z"),
            ("+3h30min", "2023-09-06T13:30:00Z"),
            ("2h left", "2023-09-06T12:00:00Z"),
            ("24h", "2023-09-05T10:00:00Z"),
            ("7d", "2023-08-30T10:00:00Z"),
            ("2w", "2023-08-23T10:00:00Z"),
            ("90s", "2023-09-06T09:58:30Z"),
            ("500ms", "2023-09-06T09:59:59.500Z"),
            ("1y", "2022-09-06T04:00:00Z"),
            ("2023-09-06", "2023-09-05T22:00:00Z"),
            ("2023-09-06 07:20", "2023-09-06T05:20:00Z"),
            ("2023-09-06 07:20:00", "2023-09-06T05:20:00Z"),
            ("2023-09-06T07:20:00", "2023-09-06T05:20:00Z"),
            ("2023-09-06 07:20:00.25", "2023-09-06T05:20:00.250Z"),
            ("2023-09-06 07:20:00 UTC", "2023-09-06T07:20:00Z"),
            ("2023-09-06T07:20:00Z", "2023-09-06T07:20:00Z"),
            ("2023-09-06T07:20:00+05:00", "2023-09-06T02:20:00Z"),
            ("2023-09-06 07:20-0130", "2023-09-06T08:50:00Z"),
            ("07:20", "2023-09-06T05:20:00Z"),
            ("07:20:30 UTC", "2023-09-06T07:20:30Z"),
            ("@1700000000", "2023-11-14T22:13:20Z"),
            ("@1700000000.5", "2023-11-14T22:13:20.500Z"),
            ("@0", "1970-01-01T00:00:00Z"),
            ("1700000000", "2023-11-14T22:13:20Z"),
            ("1700000000.5", "2023-11-14T22:13:20.500Z"),
        ];
        for (text, want) in cases {
            assert_eq!(at(text).as_deref(), Some(want), "{text:?}");
        }
    }

    #[test]
    fn midnight_is_the_zones_midnight_across_the_date_line() {
        // 23:30 UTC is already the next day two hours east.
        let late = Clock {
            now: Timestamp::parse_rfc3339("2023-09-06T23:30:00Z").expect("valid"),
            zone: Zone::Fixed(2 * 3600),
        };
        let today = parse("today", late).map(|t| t.to_rfc3339()).ok();
        assert_eq!(today.as_deref(), Some("2023-09-06T22:00:00Z"));
        let west = Clock {
            zone: Zone::Fixed(-5 * 3600),
            ..late
        };
        let today = parse("today", west).map(|t| t.to_rfc3339()).ok();
        assert_eq!(today.as_deref(), Some("2023-09-06T05:00:00Z"));
    }

    #[test]
    fn anything_else_is_refused_naming_the_forms() {
        for bad in [
            "",
            "h",
            "-",
            "@",
            "@-5",
            "@1.2.3",
            "5 parsecs",
            "1.5h",
            "2023-13-01",
            "2023-02-30",
            "2023-09-06 25:00",
            "07",
            "12345678",
            "1700000000.x",
            "last tuesday",
            "1h30",
            "99999999999999999999s",
        ] {
            match parse(bad, clock()) {
                Err(CliError::Usage(msg)) => {
                    assert!(
                        msg.contains("yesterday") && msg.contains("@1700000000"),
                        "{msg}"
                    )
                }
                other => panic!("{bad:?} read as {other:?}"),
            }
        }
    }

    #[test]
    fn months_and_minutes_differ_by_case() {
        assert_eq!(span_nanos("1m"), Some(60 * NANOS));
        assert_eq!(span_nanos("1M"), Some(2_629_800 * NANOS));
    }
}
