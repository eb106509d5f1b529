"""Embedded mode: appends, reads, queries and their pages, proofs and verification, round trip
of every event field, and errors that are typed exceptions which change nothing."""

import datetime as dt
import os
import subprocess
import sys
import threading

import pytest

import auditlog
from auditlog import Event


def full_event():
    return Event(
        {"id": "user:42", "kind": "user", "name": "Ada", "email": "ada@example.com"},
        "order.status_change",
        outcome="failure",
        severity="high",
        error_message="card declined",
        entity=("order", "123", "Order #123"),
        tenant="acme",
        ip="203.0.113.9",
        user_agent="curl/8",
        session_id="s1",
        request_id="r1",
        source="shop",
        before={"status": "open", "n": 1.0},
        after={"status": "paid", "big": 123456789012345678901234567890},
        changed_fields=["status"],
        labels=["SOX", "PCI"],
        metadata={"k": [1, 2, {"x": None}], "é": "ü"},
        occurred_at=dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.timezone.utc),
    )


def test_every_field_round_trips(log):
    event = full_event()
    receipt = log.append(event)
    assert receipt.seq == 0 and receipt.tree_size == 1 and len(receipt.leaf_hash) == 64
    record = log.get(0)
    assert record.seq == 0
    assert record.recorded_at == receipt.recorded_at
    assert record.event == event
    assert record.action == "order.status_change"
    assert record.to_dict()["occurred_at"] == "2026-01-02T03:04:05.678901Z"
    # Numbers outside f64 survive: the JSON text is kept as written.
    assert record.event.after["big"] == 123456789012345678901234567890


def test_dicts_convert_as_their_json_text_reads(log):
    """Dicts go to the engine without JSON text (convert.rs); the same event as JSON text
    (the engine's own serde reader) must be stored identically."""
    import decimal

    d = full_event().to_dict()
    d["before"] = {"when": dt.datetime(2026, 5, 1, 12, 0), "n": decimal.Decimal("1.10"), 7: (1, 2), "s": {3}}
    d["after"] = None  # in a dict, None is JSON null: present, not absent
    seq = log.append(d).seq
    as_dict = log.get(seq).to_dict()
    as_json = log.get(log._native.append_json(auditlog.embedded.encode_event(d))[0]).to_dict()
    for r in (as_dict, as_json):
        del r["seq"], r["recorded_at"]
    assert as_dict == as_json
    assert as_dict["before"] == {"when": "2026-05-01T12:00:00.000000Z", "n": "1.10", "7": [1, 2], "s": [3]}
    # (Event objects read a JSON null as absent; the stored record keeps it.)
    import json

    stored = json.loads(log._native.get_json(seq))
    assert "after" in stored and stored["after"] is None


def test_dicts_in_the_documented_shape_are_events(log):
    r = log.append({"actor": {"id": "svc"}, "action": "login", "entity": {"type": "user", "id": "7"}})
    assert log.get(r.seq).event.entity == {"type": "user", "id": "7"}


def _nested(depth):
    value = 1
    for _ in range(depth):
        value = [value]
    return value


class _Unprintable(int):
    def __str__(self):
        return "not a number"


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"actor": {"id": "u"}, "action": "x", "bogus": 1}, "unknown field `bogus`"),
        # Known keys are looked up, not walked: any other key is still found and named.
        ({"actor": {"id": "u", "role": "admin"}, "action": "x"}, "unknown field `role` in `actor`"),
        ({"actor": {"id": "u"}, "action": "x", "entity": {"type": "t", "id": "1", "x": 0}}, "unknown field `x` in `entity`"),
        ({"actor": {"id": "u"}, "action": "x", 7: "seven"}, "`key` must be a string, not int"),
        ({"actor": {"id": "u"}, "action": "x", "\udc80": 1}, "`key` holds a string with a lone surrogate"),
        ({"actor": {"kind": "user"}, "action": "x"}, "missing field `id` in `actor`"),
        ({"actor": {"id": "u"}}, "action"),
        ({"actor": {"id": ""}, "action": "x"}, "actor.id"),
        ({"actor": {"id": "u"}, "action": "x", "severity": "urgent"}, "urgent"),
        ({"actor": {"id": "u"}, "action": "x", "metadata": [1]}, "`metadata` must be an object"),
        ({"actor": {"id": "u"}, "action": "x", "before": float("nan")}, "invalid event"),
        ({"actor": {"id": "u"}, "action": "x", "before": object()}, "not JSON serialisable"),
        # JSON values are printed by serde_json from the objects (convert.rs): deeper than the
        # converter's own bound, deeper than any payload may hold, and an int beyond 64 bits
        # whose str() is not a number.
        ({"actor": {"id": "u"}, "action": "x", "before": _nested(300)}, "`before` is nested too deeply"),
        ({"actor": {"id": "u"}, "action": "x", "after": _nested(200)}, "`after` nests arrays and objects more than 64 levels"),
        ({"actor": {"id": "u"}, "action": "x", "before": [_Unprintable(2**80)]}, "`before` holds an int whose text is not a JSON number"),
        ("not an event", "expected an auditlog.Event or a dict"),
        # Lone surrogates: Python strs, not Unicode text (no UTF-8 form).
        ({"actor": {"id": "a\ud800"}, "action": "x"}, "`actor.id` holds a string with a lone surrogate"),
        ({"actor": {"id": "u"}, "action": "x", "metadata": {"k": "\udcff"}}, "`metadata` holds a string with a lone surrogate"),
        ({"actor": {"id": "u"}, "action": "x", "after": {"\ud800": 1}}, "`after` holds a string with a lone surrogate"),
    ],
)
def test_invalid_events_raise_and_write_nothing(log, bad, words):
    log.append(Event("u", "first"))
    with pytest.raises(auditlog.InvalidEvent) as info:
        log.append(bad)
    assert words in str(info.value)
    assert isinstance(info.value, ValueError)
    # One bad event in a batch: none of the batch is written.
    with pytest.raises(auditlog.InvalidEvent):
        log.append_many([Event("u", "ok"), bad])
    assert log.tree_head().size == 1


def test_json_text_appends(log):
    r = log.append_json('{"actor":{"id":"u"},"action":"from-json","metadata":{"n":1.50}}')
    assert log.get(r.seq).metadata == {"n": 1.5}
    rs = log.append_many_json('[{"actor":{"id":"u"},"action":"a"},{"actor":{"id":"u"},"action":"b"}]')
    assert [x.seq for x in rs] == [1, 2]
    with pytest.raises(auditlog.InvalidEvent, match="unknown field `oops`"):
        log.append_many_json('[{"actor":{"id":"u"},"action":"a"},{"actor":{"id":"u"},"action":"b","oops":1}]')
    with pytest.raises(auditlog.InvalidEvent):
        log.append_json("not json")
    assert log.tree_head().size == 3


def test_append_many_gives_consecutive_receipts(log):
    receipts = log.append_many(Event("u", f"a{i}") for i in range(100))
    assert [r.seq for r in receipts] == list(range(100))
    assert {r.tree_size for r in receipts} == {100}
    assert log.get(57).action == "a57"


def test_keys_that_are_not_interned_are_read_the_same(log):
    # The converter matches a dict's keys by pointer against interned names, then by text:
    # keys that json.loads made, built at run time or of a str subclass are the same keys.
    import json

    class Key(str):
        pass

    text = '{"actor":{"id":"u","kind":"user"},"action":"a","tenant":"t","entity":{"type":"order","id":"7"},"metadata":{"n":1}}'
    built = {"".join(["ac", "tor"]): {"".join(["i", "d"]): "u"}, Key("action"): "b", "ten" + "ant": "t"}
    first, second = log.append_many([json.loads(text), built])
    one, two = log.get(first.seq).event, log.get(second.seq).event
    assert (one.actor, one.action, one.tenant, one.metadata) == ({"id": "u", "kind": "user"}, "a", "t", {"n": 1})
    assert one.entity == {"type": "order", "id": "7"}
    assert (two.actor, two.action, two.tenant) == ({"id": "u"}, "b", "t")
    # A known field's bad value is reported before an unknown key, wherever the keys are.
    with pytest.raises(auditlog.InvalidEvent, match="`tenant` must be a string"):
        log.append({"bogus": 1, "actor": {"id": "u"}, "action": "x", "tenant": 5})
    assert log.tree_head().size == 2


def test_receipts_are_named_tuples_whatever_the_call(log):
    # The extension makes the Receipt objects itself (crates/python/src/receipt.rs): they
    # must be the package's named tuple, as before, from every kind of append.
    import pickle

    single = log.append(Event("u", "one"))
    batch = log.append_many([Event("u", "two"), {"actor": {"id": "u"}, "action": "three"}])
    from_json = log.append_json('{"actor":{"id":"u"},"action":"four"}')
    assert type(batch) is list
    for r in [single, *batch, from_json]:
        assert type(r) is auditlog.Receipt
        seq, recorded_at, tree_size, leaf_hash = r
        assert (seq, recorded_at, tree_size, leaf_hash) == (r.seq, r.recorded_at, r.tree_size, r.leaf_hash)
        assert r == tuple(r) and hash(r) == hash(tuple(r)) and len(r) == 4
        assert r._asdict()["leaf_hash"] == leaf_hash and len(leaf_hash) == 64
        assert pickle.loads(pickle.dumps(r)) == r
        assert r._replace(seq=-1).seq == -1
        assert log.get(seq).recorded_at == recorded_at
    assert [r.seq for r in batch] == [1, 2] and batch[0].tree_size == batch[1].tree_size == 3
    assert batch[0].recorded_at == batch[1].recorded_at


def test_get_of_a_missing_record_is_not_found(log):
    log.append(Event("u", "x"))
    with pytest.raises(auditlog.NotFound, match=r"99.*0\.\.1"):
        log.get(99)
    with pytest.raises(LookupError):
        log.get(1)


def test_query_filters_and_pages(log):
    t0 = log.append(Event("bob", "warmup")).recorded_at
    for i in range(30):
        log.append(
            Event(
                "alice" if i % 2 else "bob",
                "order.create" if i % 3 else "login",
                severity=["info", "low", "medium", "high", "critical"][i % 5],
                tenant="acme" if i < 10 else "globex",
                metadata={"note": f"needle-{i}" if i == 17 else "hay"},
            )
        )
    assert {r.actor["id"] for r in log.query(actor="alice")} == {"alice"}
    assert len(log.query(actor="alice")) == 15
    assert all(r.action == "login" for r in log.query(action="login"))
    assert len(log.query(action="login")) == 10
    assert len(log.query(action_prefix="order.")) == 20
    assert {r.severity for r in log.query(severity_at_least="high")} == {"high", "critical"}
    assert len(log.query(tenant="acme")) == 10
    [hit] = log.query(text="NEEDLE-17")
    assert hit.seq == 18
    # since is inclusive, until exclusive, on recorded_at; datetimes, text and nanos all work.
    assert [r.seq for r in log.query(until=t0)] == []
    assert log.query(since=t0, limit=1)[0].seq == 0
    later = log.get(20).recorded_at
    assert all(r.seq >= 20 for r in log.query(since=later))
    assert log.query(since=auditlog._model.to_nanos(later))[0].seq == 20
    assert len(log.query(since=dt.datetime(2000, 1, 1), until=dt.datetime(2001, 1, 1))) == 0

    # Pages: every match exactly once, in order, with the limit per page.
    seen, cursor = [], None
    while True:
        page = log.query(actor="alice", limit=4, cursor=cursor)
        assert len(page) <= 4
        seen += [r.seq for r in page]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [r.seq for r in log.query(actor="alice", limit=None)]
    assert log.count(actor="alice") == 15

    newest = log.query(limit=3, newest_first=True)
    assert [r.seq for r in newest] == [30, 29, 28]


def test_bad_query_options_are_typed_errors(log):
    with pytest.raises(auditlog.InvalidOption, match="urgent"):
        log.query(severity_at_least="urgent")
    with pytest.raises(auditlog.InvalidCursor):
        log.query(cursor="nonsense")
    log.append(Event("u", "x"))
    log.append(Event("u", "x"))
    page = log.query(actor="u", limit=1)
    with pytest.raises(auditlog.InvalidCursor, match="other filters"):
        log.query(actor="someone-else", cursor=page.next_cursor)


def test_tree_head_proof_and_verify(log, tmp_path):
    for i in range(10):
        log.append(Event("u", f"a{i}"))
    head = log.tree_head()
    assert head.size == 10 and len(head.root) == 64
    proof = log.prove(3)
    assert proof["type"] == "inclusion" and proof["seq"] == 3
    assert proof["tree_head"] == {"size": 10, "root": head.root}
    assert proof["event"]["action"] == "a3"
    consistency = log.prove_consistency(4)
    assert consistency["old"]["size"] == 4 and consistency["new"]["size"] == 10
    with pytest.raises(auditlog.NotFound):
        log.prove(10)
    # At a chosen tree size: the tree of the first 5 records, whose root the consistency
    # proof from 5 names too.
    at5 = log.prove(3, tree_size=5)
    assert at5["tree_head"] == log.prove_consistency(5)["old"] and at5["tree_head"]["size"] == 5
    assert at5["leaf_hash"] == proof["leaf_hash"] and at5["path"] != proof["path"]
    assert log.prove(3, tree_size=4)["tree_head"]["size"] == 4
    for bad in (3, 11):  # a tree without record 3, a tree larger than the log
        with pytest.raises(auditlog.NotFound):
            log.prove(3, tree_size=bad)
    report = auditlog.verify(log.path)
    assert report.ok and report.records == 10 and report.tree_head == head
    assert log.verify().ok


def test_verify_reports_damage(tmp_path):
    path = tmp_path / "audit"
    log = auditlog.AuditLog.open(path)
    log.append_many(Event("u", f"action-{i}") for i in range(20))
    log.seal()
    log.close()
    segment = path / "00000000000000000000.seg"
    data = bytearray(segment.read_bytes())
    i = data.find(b"action-7")
    assert i > 0
    data[i + 7] ^= 0x01
    segment.write_bytes(bytes(data))
    report = auditlog.verify(path)
    assert not report.ok and report.problems
    assert "message" in report.problems[0]


def test_a_second_writer_is_locked_out(log):
    with pytest.raises(auditlog.Locked):
        auditlog.AuditLog.open(log.path)


def test_closed_log_refuses_calls(tmp_path):
    log = auditlog.AuditLog.open(tmp_path / "a")
    log.append(Event("u", "x"))
    log.close()
    log.close()  # a no-op
    with pytest.raises(auditlog.Closed):
        log.append(Event("u", "x"))
    reopened = auditlog.AuditLog.open(tmp_path / "a")
    assert reopened.tree_head().size == 1
    reopened.close()


def test_bad_durability_is_an_invalid_option(tmp_path):
    with pytest.raises(auditlog.InvalidOption, match="durability"):
        auditlog.AuditLog.open(tmp_path / "a", durability="sometimes")


def test_immediate_durability_survives_exit_without_close(tmp_path):
    """An append that returned is on disk even if the process exits at once, skipping
    close(), destructors and atexit (os._exit)."""
    path = tmp_path / "audit"
    script = (
        "import os, sys, auditlog\n"
        "log = auditlog.AuditLog.open(sys.argv[1])\n"
        "r = log.append_many([auditlog.Event('u', 'batch-%d' % i) for i in range(5)])\n"
        "r = log.append(auditlog.Event('u', 'last'))\n"
        "print(r.seq, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", script, str(path)], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "5"
    log = auditlog.AuditLog.open(path)
    try:
        assert log.tree_head().size == 6
        assert log.get(5).action == "last"
        assert auditlog.verify(path).ok
    finally:
        log.close()


def test_appends_from_threads_all_land_once(log):
    def worker(t):
        for i in range(50):
            log.append(Event(f"t{t}", f"a{i}"))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert log.tree_head().size == 400
    keys = {(r.actor["id"], r.action) for r in log.query(limit=None)}
    assert len(keys) == 400


def test_tail_yields_new_records_as_they_commit(log):
    log.append(Event("u", "before-tail"))
    got = []
    tail = log.tail(actor="u", timeout=5.0)

    def reader():
        for record in tail:
            got.append(record.action)
            if len(got) == 3:
                return

    t = threading.Thread(target=reader)
    t.start()
    log.append(Event("other", "not-matching"))
    for i in range(3):
        log.append(Event("u", f"new-{i}"))
    t.join(10)
    assert not t.is_alive()
    assert got == ["new-0", "new-1", "new-2"]
    # From 0, everything, and the generator stops after its idle timeout.
    assert [r.action for r in log.tail(from_seq=0, actor="u", timeout=0.3)][:2] == ["before-tail", "new-0"]


def test_tail_ends_when_the_log_closes(tmp_path):
    log = auditlog.AuditLog.open(tmp_path / "a")
    tail = log.tail()
    done = threading.Event()

    def reader():
        list(tail)
        done.set()

    t = threading.Thread(target=reader)
    t.start()
    log.close()
    assert done.wait(10)


def test_fork_child_must_reopen(log):
    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    log.append(Event("u", "parent"))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            log.append(Event("u", "child"))
            os.write(w, b"appended")
        except auditlog.Closed as e:
            os.write(w, b"closed:" + str(e).encode()[:200])
        os._exit(0)
    os.close(w)
    os.waitpid(pid, 0)
    answer = os.read(r, 300).decode()
    assert answer.startswith("closed:") and "fork" in answer
    assert log.tree_head().size == 1
