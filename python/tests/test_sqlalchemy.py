"""SQLAlchemy 2 with SQLite: changes collected at flush with attribute history, written only
after commit; a rolled-back transaction, or savepoint, logs nothing."""

import pytest
from sqlalchemy import ForeignKey, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

import auditlog
import auditlog.sqlalchemy


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20), default="open")
    total: Mapped[int] = mapped_column(default=0)
    password: Mapped[str] = mapped_column(String(20), default="")


class Note(Base):
    __tablename__ = "notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    text: Mapped[str] = mapped_column(String(50))


@pytest.fixture
def Session(log):
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    factory = sessionmaker(engine)
    auditlog.sqlalchemy.track(factory, models=[Order], log=log)
    return factory


def test_changes_are_written_after_commit(Session, log):
    with Session() as s:
        order = Order(status="open", total=5, password="secret")
        s.add(order)
        s.flush()
        assert log.tree_head().size == 0  # flushed, not committed
        s.add(Note(order_id=order.id, text="untracked model"))
        s.commit()
        assert [r.action for r in log.query()] == ["orders.create"]
        order.status = "paid"
        order.total = 5  # unchanged value: not a changed field
        s.commit()
        s.delete(order)
        s.commit()
    created, updated, deleted = log.query()
    assert created.entity == {"type": "orders", "id": "1"}
    assert created.after == {"id": 1, "status": "open", "total": 5}
    assert created.actor == {"id": "system"}
    assert updated.before == {"status": "open"} and updated.after == {"status": "paid"}
    assert updated.changed_fields == ["status"]
    assert deleted.action == "orders.delete" and deleted.before["status"] == "paid"


def test_a_rollback_logs_nothing(Session, log):
    with Session() as s:
        s.add(Order(status="doomed"))
        s.flush()
        s.rollback()
        s.add(Order(status="kept"))
        s.commit()
    with Session() as s:
        s.add(Order(status="never committed"))
        s.flush()
        # closed without commit
    [only] = log.query()
    assert only.after["status"] == "kept"


def test_a_rolled_back_savepoint_drops_only_its_changes(Session, log):
    with Session() as s:
        s.add(Order(status="outer"))
        s.flush()
        with s.begin_nested() as sp:
            s.add(Order(status="inner-rolled-back"))
            s.flush()
            sp.rollback()
        with s.begin_nested():
            s.add(Order(status="inner-released"))
            s.flush()
        assert log.tree_head().size == 0
        s.commit()
    assert [r.after["status"] for r in log.query()] == ["outer", "inner-released"]
    # One batch: consecutive sequence numbers, one tree size.
    assert [r.seq for r in log.query()] == [0, 1]


def test_actor_comes_from_the_context(Session, log):
    with auditlog.context.bind(actor="alice", request_id="r-9"):
        with Session() as s:
            s.add(Order())
            s.commit()
    [rec] = log.query()
    assert rec.actor == {"id": "alice"} and rec.request_id == "r-9"
