//! Progress lines for long operations (import, export, compact, archive, reindex, verify):
//! one line on stderr, redrawn in place at most four times a second, erased when the
//! operation ends, and only when stderr is a terminal, so piped or redirected output never
//! holds one. `AUDITLOG_PROGRESS=never` turns them off on a terminal too; `always` turns
//! them on when stderr is not a terminal (for checking them; they are drawn at once then).
//!
//! With a known total the line shows the percentage and an estimate of the time left (from
//! the rate so far): `import: 42% (11.2 of 26.7 MB), 4,100 events, 0:07 elapsed, ETA 0:10`.
//! Commands whose work is one library call (compact, archive, reindex) draw from a thread
//! beside it, with a probe that counts the files done so far.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// How often the line is redrawn.
const EVERY: Duration = Duration::from_millis(250);

/// What the counts measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Input or output bytes (shown in MB).
    Bytes,
    /// Things counted by name (`records`, `segments`).
    Count(&'static str),
}

/// Whether progress lines are drawn: stderr is a terminal, unless `AUDITLOG_PROGRESS` says.
pub fn enabled() -> bool {
    match std::env::var("AUDITLOG_PROGRESS").as_deref() {
        Ok("never") => false,
        Ok("always") => true,
        _ => std::io::stderr().is_terminal(),
    }
}

/// One operation's progress line.
#[derive(Debug)]
pub struct Progress {
    label: &'static str,
    unit: Unit,
    total: Option<u64>,
    started: Instant,
    last: Option<Instant>,
    enabled: bool,
    drawn: bool,
}

impl Progress {
    /// A line for `label` of `total` units (`None`: unknown, no percentage).
    pub fn new(label: &'static str, unit: Unit, total: Option<u64>) -> Self {
        Progress {
            label,
            unit,
            total,
            started: Instant::now(),
            last: None,
            enabled: enabled(),
            drawn: false,
        }
    }

    /// `done` units so far, and a note (`3,000 events`, made only when the line is drawn,
    /// so calling this once per input line costs a clock read); redrawn when it is time.
    pub fn update(&mut self, done: u64, note: impl FnOnce() -> String) {
        if !self.enabled || self.last.is_some_and(|t| t.elapsed() < EVERY) {
            return;
        }
        self.last = Some(Instant::now());
        let line = render(
            self.label,
            self.unit,
            done,
            self.total,
            self.started.elapsed(),
            &note(),
        );
        let width = super::terminal::width(2).unwrap_or(80).saturating_sub(1);
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r\x1b[2K{}", super::terminal::fit(&line, width));
        let _ = err.flush();
        self.drawn = true;
    }

    /// Erases the line (before other output on stderr, and at the end).
    pub fn clear(&mut self) {
        if self.drawn {
            eprint!("\r\x1b[2K");
            self.drawn = false;
            // Redraw at the next update, not 250 ms later.
            self.last = None;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Runs `work`, drawing its progress from a thread beside it: every quarter second `probe`
/// says how many units are done and how many there are (`None`: unknown).
pub fn while_running<T>(
    label: &'static str,
    unit: Unit,
    probe: impl Fn() -> (u64, Option<u64>) + Sync,
    work: impl FnOnce() -> T,
) -> T {
    if !enabled() {
        return work();
    }
    let done = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let mut line = Progress::new(label, unit, None);
            // Drawn once at least, however short the work.
            loop {
                let (n, total) = probe();
                line.total = total;
                line.update(n, String::new);
                if done.load(std::sync::atomic::Ordering::Acquire) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        let result = work();
        done.store(true, std::sync::atomic::Ordering::Release);
        result
    })
}

/// First sequence numbers of the hot and the cold segments in `dir` (for probes).
pub fn segments_in(dir: &std::path::Path) -> (Vec<u64>, Vec<u64>) {
    use auditlog_format::segment::name::{parse_cold_segment_file_name, parse_segment_file_name};
    let (mut hot, mut cold) = (Vec::new(), Vec::new());
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if let Some(seq) = parse_segment_file_name(&name) {
            hot.push(seq);
        } else if let Some(seq) = parse_cold_segment_file_name(&name) {
            cold.push(seq);
        }
    }
    (hot, cold)
}

/// `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1:05`, or `1:02:03` past an hour.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..3600 => format!("{}:{:02}", s / 60, s % 60),
        _ => format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60),
    }
}

/// The text of a progress line.
pub fn render(
    label: &str,
    unit: Unit,
    done: u64,
    total: Option<u64>,
    elapsed: Duration,
    note: &str,
) -> String {
    let amount = |n: u64| match unit {
        Unit::Bytes => format!("{:.1}", n as f64 / 1e6),
        Unit::Count(_) => thousands(n),
    };
    let unit_name = match unit {
        Unit::Bytes => "MB",
        Unit::Count(name) => name,
    };
    let mut line = format!("{label}: ");
    match total {
        Some(total) if total > 0 => {
            let done = done.min(total);
            let fraction = done as f64 / total as f64;
            line.push_str(&format!(
                "{:.0}% ({} of {} {unit_name})",
                fraction * 100.0,
                amount(done),
                amount(total)
            ));
        }
        _ => line.push_str(&format!("{} {unit_name}", amount(done))),
    }
    if !note.is_empty() {
        line.push_str(", ");
        line.push_str(note);
    }
    line.push_str(&format!(", {} elapsed", clock(elapsed)));
    if let Some(total) = total.filter(|t| *t > 0 && done > 0 && done < *t) {
        let left = elapsed.as_secs_f64() * (total - done) as f64 / done as f64;
        line.push_str(&format!(", ETA {}", clock(Duration::from_secs_f64(left))));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_show_percent_and_eta_from_the_rate_so_far() {
        let secs = Duration::from_secs;
        assert_eq!(
            render(
                "import",
                Unit::Bytes,
                10_000_000,
                Some(40_000_000),
                secs(5),
                "4,100 events"
            ),
            "import: 25% (10.0 of 40.0 MB), 4,100 events, 0:05 elapsed, ETA 0:15"
        );
        assert_eq!(
            render(
                "export",
                Unit::Count("records"),
                1_500,
                None,
                secs(3725),
                ""
            ),
            "export: 1,500 records, 1:02:05 elapsed"
        );
        assert_eq!(
            render("verify", Unit::Count("segments"), 3, Some(3), secs(0), ""),
            "verify: 100% (3 of 3 segments), 0:00 elapsed",
            "no ETA once done"
        );
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
