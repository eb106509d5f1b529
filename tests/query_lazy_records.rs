//! `query_lazy` returns the records `query` returns, read in place: on realistic events
//! (JSON before/after/metadata, non-ASCII text, every optional field) spread over small
//! sealed segments and the active one, every `LazyRecord` converts to the `Record` `query`
//! gave, every field read through its `EventView` equals the decoded field, and
//! `Query::matches_view` agrees with `Query::matches` on every record, text searches
//! included.

mod common;

use auditlog::query::{Order, Query};
use auditlog::{AuditLog, Event, Record, Severity, Timestamp};
use auditlog::{EntityView, EventView, LazyRecord};
use auditlog_format::sample::SampleEvents;

fn build(dir: &std::path::Path) -> (AuditLog, Vec<Record>) {
    let log = common::small_segments(dir).open().expect("open");
    let sample = SampleEvents::new(7).actors(13).entities(29);
    let base = Timestamp::from_unix_secs(1_800_000_000);
    let mut events: Vec<Event> = (0..600).map(|i| sample.event(i, base)).collect();
    // Non-ASCII text, long strings (two-byte lengths) and bare events among them.
    events.push(
        Event::new("zoë", "document.read")
            .actor_name("Zoë Ångström")
            .user_agent("x".repeat(200))
            .label("Ünïcode"),
    );
    events.push(Event::new("bare", "ping"));
    for chunk in events.chunks(50) {
        log.append_batch(chunk)
            .expect("append")
            .wait()
            .expect("ack");
    }
    let all = common::read_all(&log);
    assert!(
        common::segment_files(dir).len() >= 3,
        "needs several segments"
    );
    (log, all)
}

/// Every accessor of the view equals the decoded event's field.
fn assert_fields_equal(view: &EventView<'_>, e: &Event) {
    assert_eq!(view.occurred_at(), e.occurred_at);
    assert_eq!(view.actor_id(), e.actor.id);
    assert_eq!(view.actor_kind(), e.actor.kind.as_deref());
    assert_eq!(view.actor_name(), e.actor.name.as_deref());
    assert_eq!(view.actor_email(), e.actor.email.as_deref());
    assert_eq!(view.action(), e.action);
    assert_eq!(view.outcome(), e.outcome);
    assert_eq!(view.error_message(), e.error_message.as_deref());
    assert_eq!(view.severity(), e.severity);
    let entity = e.entity.as_ref().map(|x| EntityView {
        kind: &x.kind,
        id: &x.id,
        name: x.name.as_deref(),
    });
    assert_eq!(view.entity(), entity);
    assert_eq!(view.tenant(), e.tenant.as_deref());
    assert_eq!(view.ip(), e.ip.as_deref());
    assert_eq!(view.user_agent(), e.user_agent.as_deref());
    assert_eq!(view.session_id(), e.session_id.as_deref());
    assert_eq!(view.request_id(), e.request_id.as_deref());
    assert_eq!(view.source(), e.source.as_deref());
    assert_eq!(view.changed_fields().collect::<Vec<_>>(), e.changed_fields);
    assert_eq!(view.labels().collect::<Vec<_>>(), e.labels);
    assert_eq!(view.before().expect("json"), e.before);
    assert_eq!(view.after().expect("json"), e.after);
    assert_eq!(view.metadata().expect("json"), e.metadata);
    let text = |v: &Option<auditlog::JsonText>| v.as_ref().map(|v| v.as_str().to_owned());
    assert_eq!(view.before_json().map(str::to_owned), text(&e.before));
    assert_eq!(view.after_json().map(str::to_owned), text(&e.after));
}

fn queries(all: &[Record]) -> Vec<Query> {
    let mid = &all[all.len() / 2];
    let entity = all
        .iter()
        .find_map(|r| r.event.entity.clone())
        .expect("sample events have entities");
    vec![
        Query::new(),
        Query::new().order(Order::NewestFirst).limit(37),
        Query::new().actor(mid.event.actor.id.clone()),
        Query::new().entity(entity.kind, entity.id),
        Query::new()
            .recorded_since(all[100].recorded_at)
            .recorded_until(all[450].recorded_at),
        Query::new().severity_at_least(Severity::High).limit(10),
        Query::new().text("ZOË"),
        Query::new().text("ünï"),
        Query::new().text("\"status\""),
        Query::new().text("MOZILLA"),
        Query::new().text("xxxxxxxxxxxx"),
    ]
}

#[test]
fn lazy_pages_hold_the_records_query_returns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, all) = build(dir.path());
    for q in queries(&all) {
        let page = log.query(&q).expect("query");
        let lazy = log.query_lazy(&q).expect("query_lazy");
        assert_eq!((lazy.cursor, lazy.has_more), (page.cursor, page.has_more));
        assert_eq!(lazy.records.len(), page.records.len(), "{q:?}");
        for (l, r) in lazy.records.iter().zip(&page.records) {
            assert_eq!((l.seq(), l.recorded_at()), (r.seq, r.recorded_at));
            assert_eq!(l.to_record().expect("decodes").event, r.event);
            assert_fields_equal(&l.event(), &r.event);
            // A record copied out of its page is still the same record.
            let alone = l.view().to_lazy();
            assert_eq!(&alone, l);
            let rebuilt = LazyRecord::new(l.seq(), l.recorded_at(), l.payload().to_vec())
                .expect("valid payload");
            assert_eq!(rebuilt.to_record().expect("decodes"), *r);
        }
    }
    // Something matched the searches with non-ASCII text in both directions of case.
    assert_eq!(log.count(&Query::new().text("ZOË")).expect("count"), 1);
    assert_eq!(log.count(&Query::new().text("ünï")).expect("count"), 1);
}

#[test]
fn matching_in_place_agrees_with_matching_decoded_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (log, all) = build(dir.path());
    let every = log.query_lazy(&Query::new()).expect("query_lazy").records;
    assert_eq!(every.len(), all.len());
    let mut hits = 0;
    for q in queries(&all) {
        for (l, r) in every.iter().zip(&all) {
            assert_eq!(
                q.matches_view(&l.view()),
                q.matches(r),
                "{q:?} on #{}",
                r.seq
            );
            hits += usize::from(q.matches(r));
        }
    }
    assert!(hits > all.len(), "the queries must select records");
}
