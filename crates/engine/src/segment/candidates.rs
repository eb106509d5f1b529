//! The records of a read-only open's newest segment that may be one actor's, noted by the
//! open's scan while it has each record's bytes in hand (`AuditLogBuilder::first_query`).
//!
//! Why: a fresh read-only process (every read-only CLI command) reads its active segment, which
//! has no index file, twice: once to open it (every frame's CRC, the sequence, how it ends),
//! and once more for its query, which reads every record of it (`SlotRef::scan_unindexed`).
//! With a 64 MiB active segment the second pass, faulting the segment's pages into a map and
//! looking for the actor's bytes in each payload, was a third of a `query --actor X --count`
//! (docs/BENCHMARKS.md, "Fast CLI reads"). The open's scan has each payload in cache already:
//! reading its `actor.id` there (the payload's third field, after a version byte and an
//! optional time: `event::actor_id_bytes`) costs a few loads per record, and the query then
//! reads only the records of its actor.
//!
//! What it may claim: a record matches a query for an exact actor only if its `actor.id` is
//! that actor, which is what these notes compare. A payload whose first fields do not read as
//! this version's is noted too, never left out. The candidates are thus a superset of the
//! matches; each one the query reads is read through the checked path (CRC and sequence number
//! checked again) and checked against the whole query, like an index's posting.

use crate::index::Posting;
use crate::record::RawRecord;
use auditlog_format::event::actor_id_bytes;

/// Notes, during a scan of one segment, the records of one actor: those whose `actor.id`, read
/// from the payload's first fields, is the actor's (and any whose first fields do not read).
pub(crate) struct CandidateNoter {
    actor: String,
    first_seq: u64,
    postings: Vec<Posting>,
    /// A record whose number or offset does not fit a posting (a segment larger than 4 GiB):
    /// the notes are then not used at all, and the query reads every record as before.
    unfit: bool,
}

impl CandidateNoter {
    /// A noter for the records of `actor` in the segment whose first record is `first_seq`.
    pub(crate) fn new(actor: &str, first_seq: u64) -> Self {
        CandidateNoter {
            actor: actor.to_owned(),
            first_seq,
            postings: Vec::new(),
            unfit: false,
        }
    }

    /// Forgets what was noted: the scan starts again from the segment's first record.
    pub(crate) fn restart(&mut self) {
        self.postings.clear();
        self.unfit = false;
    }

    /// Called with each valid record of the scan, in order, and its frame's offset.
    pub(crate) fn note(&mut self, offset: u64, record: &RawRecord<'_>) {
        // The actor id read from the payload's first fields; a payload whose start does not
        // read so is noted anyway (the query's own check of it reports or rejects it).
        if actor_id_bytes(record.payload).is_some_and(|id| id != self.actor.as_bytes()) {
            return;
        }
        let rel = record.seq.checked_sub(self.first_seq).map(u32::try_from);
        match (rel, u32::try_from(offset)) {
            (Some(Ok(rel)), Ok(offset)) => self.postings.push(Posting { rel, offset }),
            _ => self.unfit = true,
        }
    }

    /// The candidates of the records the scan found valid, `first_seq..end_seq` (the scan
    /// hands over valid records only).
    pub(crate) fn finish(self, end_seq: u64) -> Option<ActorCandidates> {
        (!self.unfit).then(|| ActorCandidates {
            records: end_seq.saturating_sub(self.first_seq),
            actor: self.actor,
            postings: self.postings,
        })
    }
}

/// The records of one actor among the first `records` of a segment, as its open noted them.
#[derive(Debug)]
pub(crate) struct ActorCandidates {
    actor: String,
    /// How many records of the segment, from its first, the open scanned.
    records: u64,
    /// The records of the actor (and any whose first fields did not read), ascending.
    postings: Vec<Posting>,
}

impl ActorCandidates {
    /// The candidates among records `from..to` (numbers within the segment) of a query for
    /// exactly `actor`, if these notes cover them: `None` for another actor, or for records
    /// the open did not scan (a handle refreshed since), which the query reads itself.
    pub(crate) fn for_range(
        &self,
        actor: Option<&str>,
        from: u64,
        to: u64,
    ) -> Option<Vec<Posting>> {
        if actor != Some(self.actor.as_str()) || to > self.records {
            return None;
        }
        let within = |p: &&Posting| (from..to).contains(&u64::from(p.rel));
        Some(self.postings.iter().filter(within).copied().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, payload: &[u8]) -> RawRecord<'_> {
        RawRecord {
            seq,
            recorded_at: 0,
            durable_size: 0,
            payload,
        }
    }

    /// A payload whose `actor.id` is `actor`.
    fn payload_of(actor: &str) -> Vec<u8> {
        let event = crate::Event::new(actor, "login");
        auditlog_format::event::encode_payload(&event, &Default::default()).expect("encode")
    }

    #[test]
    fn records_of_the_actor_are_noted_and_served_only_for_that_actor() {
        let mut noter = CandidateNoter::new("user:7", 100);
        let (seven, eight, seventy_seven) = (
            payload_of("user:7"),
            payload_of("user:8"),
            payload_of("user:77"),
        );
        noter.note(40, &record(100, &seven));
        noter.note(90, &record(101, &eight));
        noter.note(140, &record(102, &seventy_seven));
        noter.note(190, &record(103, b"\x09not a payload of this version"));
        noter.note(240, &record(104, &seven));
        let notes = noter.finish(105).expect("fits");
        let rels = |p: Vec<Posting>| p.iter().map(|p| (p.rel, p.offset)).collect::<Vec<_>>();
        assert_eq!(
            notes.for_range(Some("user:7"), 0, 5).map(rels),
            Some(vec![(0, 40), (3, 190), (4, 240)]),
            "the actor's records, and one whose first fields do not read"
        );
        assert_eq!(
            notes.for_range(Some("user:7"), 1, 4).map(rels),
            Some(vec![(3, 190)])
        );
        assert!(
            notes.for_range(Some("user:8"), 0, 5).is_none(),
            "another actor"
        );
        assert!(notes.for_range(None, 0, 5).is_none(), "no actor");
        assert!(
            notes.for_range(Some("user:7"), 0, 6).is_none(),
            "a record the open did not scan"
        );
    }

    #[test]
    fn a_restart_forgets_and_an_offset_past_4_gib_disables_the_notes() {
        let a = payload_of("a");
        let mut noter = CandidateNoter::new("a", 0);
        noter.note(10, &record(0, &a));
        noter.restart();
        noter.note(20, &record(0, &a));
        let notes = noter.finish(1).expect("fits");
        assert_eq!(notes.postings, vec![Posting { rel: 0, offset: 20 }]);
        let mut noter = CandidateNoter::new("a", 0);
        noter.note(1 << 32, &record(0, &a));
        assert!(noter.finish(1).is_none());
    }

    /// A read-only open told its first query's actor notes, in the active segment, every
    /// record of that actor, and only those; without the hint, or for a
    /// writable open, nothing is noted.
    #[test]
    fn a_read_only_open_told_the_actor_notes_its_records_in_the_active_segment() {
        use crate::query::Query;
        use crate::{AuditLog, Event};
        let tmp = tempfile::tempdir().expect("tempdir");
        let log = AuditLog::open(tmp.path()).expect("open");
        let events: Vec<_> = (0..500)
            .map(|i| Event::new(format!("user:{}", i % 60), "login"))
            .collect();
        log.append_batch(&events)
            .expect("append")
            .wait()
            .expect("ack");
        drop(log);
        let notes = |log: &crate::LogReader| -> Option<Vec<u64>> {
            let view = log.view();
            let active = view.segments.last().expect("a segment");
            let postings = active
                .open_candidates()?
                .for_range(Some("user:5"), 0, 500)?;
            Some(postings.iter().map(|p| u64::from(p.rel)).collect())
        };
        let hinted = AuditLog::builder(tmp.path())
            .first_query(&Query::new().actor("user:5"))
            .open_read_only()
            .expect("open read-only");
        let noted = notes(&hinted).expect("noted");
        let of_user_5: Vec<u64> = (0..500u64).filter(|i| i % 60 == 5).collect();
        assert_eq!(noted, of_user_5, "user:5's records, not user:50..59's");
        let plain = crate::ReadOnlyLog::open(tmp.path()).expect("open read-only");
        assert_eq!(notes(&plain), None, "no hint, no notes");
        drop((hinted, plain));
        let writable = AuditLog::builder(tmp.path())
            .first_query(&Query::new().actor("user:5"))
            .open()
            .expect("open");
        assert_eq!(notes(&writable), None, "a writable open ignores the hint");
    }
}
