//! Which lines an import has written, so that one stopped by a write error (a full disk, say)
//! can say which lines the log holds and how to resume without writing any twice.
//!
//! The import holds the log's lock and sequence numbers are gapless, so its events get
//! `start_seq..` in line order. Acknowledged batches are durable, but after a write error
//! records of unacknowledged batches may be in the file too (a group whose fdatasync failed,
//! or the whole frames before a short write), and recovery keeps them. So a stopped import
//! reopens the log: its end says how many events of this import it holds, and the line
//! numbers of the events still in flight map that count back to a line.

use super::{Totals, acknowledge};
use crate::cli::CliError;
use auditlog::{AuditLog, BatchHandle};
use std::collections::VecDeque;
use std::path::Path;

/// The batches in flight and the lines of their events.
#[derive(Debug)]
pub(super) struct Written {
    start_seq: u64,
    /// Batches sent and not yet acknowledged, with their event counts.
    in_flight: VecDeque<(BatchHandle, usize)>,
    /// Line numbers of the events of those batches, in order.
    unacked_lines: VecDeque<u64>,
    /// Line numbers of the events of the batch being built.
    queued: Vec<u64>,
    acked_events: u64,
    /// Line of the last acknowledged event (0: none yet).
    acked_line: u64,
}

impl Written {
    /// Nothing written yet to a log that ends at `start_seq`.
    pub(super) fn new(start_seq: u64) -> Self {
        Written {
            start_seq,
            in_flight: VecDeque::new(),
            unacked_lines: VecDeque::new(),
            queued: Vec::new(),
            acked_events: 0,
            acked_line: 0,
        }
    }

    /// Line `line` joined the batch being built.
    pub(super) fn queue_line(&mut self, line: u64) {
        self.queued.push(line);
    }

    pub(super) fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// The batch being built was sent.
    pub(super) fn sent(&mut self, handle: BatchHandle) {
        self.in_flight.push_back((handle, self.queued.len()));
        self.unacked_lines.extend(self.queued.drain(..));
    }

    /// Waits for the oldest batch in flight.
    pub(super) fn acknowledge_oldest(&mut self, totals: &mut Totals) -> Result<(), CliError> {
        let Some((handle, events)) = self.in_flight.pop_front() else {
            return Ok(());
        };
        acknowledge(handle, totals)?;
        for line in self.unacked_lines.drain(..events) {
            self.acked_line = line;
        }
        self.acked_events += events as u64;
        Ok(())
    }

    pub(super) fn acknowledge_all(&mut self, totals: &mut Totals) -> Result<(), CliError> {
        while !self.in_flight.is_empty() {
            self.acknowledge_oldest(totals)?;
        }
        Ok(())
    }

    /// The import stopped with `error`: closes the log, reopens it to count what it holds,
    /// says on stderr which lines were written and how to resume, and returns `error`.
    pub(super) fn stopped(
        &mut self,
        log: Option<AuditLog>,
        input: &Path,
        error: CliError,
    ) -> CliError {
        let Some(log) = log else {
            return error; // a dry run writes nothing
        };
        let dir = log.dir().to_path_buf();
        self.in_flight.clear(); // their waits are over: the log is poisoned or closed
        drop(log);
        let held = AuditLog::open(&dir)
            .map(|log| {
                let end = log.end_seq();
                let _ = log.close();
                end.saturating_sub(self.start_seq)
            })
            .map_err(auditlog::Error::from);
        let input = input.display();
        let message = self.stop_message(held, &input, &dir);
        eprintln!("auditlog: {message}");
        #[cfg(test)]
        super::tests::LAST_STOP.with(|m| *m.borrow_mut() = Some(message));
        error
    }

    /// Which lines the log holds (`held` events of this import, or why that is unknown) and
    /// how to resume.
    fn stop_message(
        &self,
        held: auditlog::Result<u64>,
        input: &dyn std::fmt::Display,
        dir: &Path,
    ) -> String {
        let resume = |line: u64| {
            format!(
                "once the cause is fixed, resume from line {} on so that no line is written \
                 twice (`tail -n +{} {input} | auditlog import --dir {} [same options] -`)",
                line + 1,
                line + 1,
                dir.display()
            )
        };
        match held {
            Ok(0) => "the import stopped at a write error before any of its lines was \
                      written; once the cause is fixed, run it again"
                .to_string(),
            Ok(events) if events >= self.acked_events => {
                let extra = (events - self.acked_events) as usize;
                let line = match extra {
                    0 => Some(self.acked_line),
                    n => self.unacked_lines.get(n - 1).copied(),
                };
                match line {
                    Some(line) => format!(
                        "the import stopped at a write error; the log holds the events of \
                         lines 1..={line} of {input} ({events} events, seq {}..{}); {}",
                        self.start_seq,
                        self.start_seq + events,
                        resume(line)
                    ),
                    None => self.unsure(input, "holds more events than this import sent"),
                }
            }
            Ok(_) => self.unsure(input, "holds fewer events than were acknowledged"),
            Err(e) => self.unsure(input, &format!("could not be reopened to check ({e})")),
        }
    }

    fn unsure(&self, input: &dyn std::fmt::Display, why: &str) -> String {
        format!(
            "the import stopped at a write error; the events of lines 1..={} of {input} ({} \
             events) were acknowledged as durable, but the log {why}: check its end with \
             `auditlog stats` before resuming",
            self.acked_line, self.acked_events
        )
    }
}
