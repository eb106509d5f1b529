"""A real Django project (tests/django_project: settings, a model, in-memory SQLite): model
changes with before/after and changed fields, through the middleware's actor and request id,
logins from the auth signals, and nothing from a rolled-back transaction."""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))
os.environ["DJANGO_SETTINGS_MODULE"] = "django_project.settings"

import django  # noqa: E402

django.setup()

from django.contrib.auth import authenticate  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.test import Client  # noqa: E402

import auditlog  # noqa: E402
import auditlog.django  # noqa: E402
from django_project.shop.models import Customer, Order, Untracked  # noqa: E402

call_command("migrate", run_syncdb=True, verbosity=0)


@pytest.fixture
def dlog(log):
    auditlog.django.set_log(log)
    yield log
    auditlog.django.set_log(None)


def actions(log):
    return [r.action for r in log.query(limit=None)]


def test_model_changes_are_recorded_with_diffs(dlog):
    order = Order.objects.create(number="A1", total="9.50", secret_note="do not log")
    order.status = "paid"
    order.save()
    order.save()  # no change: no event
    Untracked.objects.create(name="ignored")
    customer = Customer.objects.create(name="Ada", internal="hidden")
    pk = order.pk
    order.delete()
    created, updated, customer_created, deleted = dlog.query(limit=None)
    assert actions(dlog) == ["shop.order.create", "shop.order.update", "shop.customer.create", "shop.order.delete"]
    assert created.entity == {"type": "shop.order", "id": str(pk), "name": "Order A1"}
    assert created.after == {"id": pk, "number": "A1", "status": "open", "total": "9.50"}
    assert "secret_note" not in created.after
    assert created.actor == {"id": "system"}
    assert updated.before == {"status": "open"} and updated.after == {"status": "paid"}
    assert updated.changed_fields == ["status"]
    assert customer_created.after == {"id": customer.pk, "name": "Ada"}
    assert deleted.before["status"] == "paid" and deleted.severity == "low"


def test_a_rolled_back_transaction_logs_nothing(dlog):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            Order.objects.create(number="R1")
            raise RuntimeError("roll back")
    assert dlog.tree_head().size == 0
    with transaction.atomic():
        Order.objects.create(number="C1")
        # Written only at commit.
        assert dlog.tree_head().size == 0
    assert actions(dlog) == ["shop.order.create"]


def test_requests_carry_actor_ip_and_request_id(dlog):
    user = User.objects.create_user("bob", "bob@example.com", "pw")
    order = Order.objects.create(number="B1")
    client = Client()
    assert client.login(username="bob", password="pw")
    r = client.post(f"/orders/{order.pk}/ship", HTTP_X_REQUEST_ID="req-7", HTTP_USER_AGENT="pytest", REMOTE_ADDR="198.51.100.4")
    assert r.status_code == 200 and r["X-Request-ID"] == "req-7"
    [login] = dlog.query(action="user.login")
    assert login.actor == {"id": str(user.pk), "kind": "user", "name": "bob", "email": "bob@example.com"}
    [ship] = dlog.query(action="shop.order.update")
    assert ship.actor == {"id": str(user.pk), "kind": "user", "name": "bob", "email": "bob@example.com"}
    assert ship.request_id == "req-7" and ship.ip == "198.51.100.4" and ship.user_agent == "pytest"
    assert ship.session_id and ship.changed_fields == ["status"]
    client.logout()
    assert dlog.query(action="user.logout")[0].actor["id"] == str(user.pk)


def test_failed_logins_are_denied_events(dlog):
    User.objects.create_user("carol", password="right")
    assert authenticate(username="carol", password="wrong") is None
    [failed] = dlog.query(action="user.login_failed")
    assert failed.outcome == "denied" and failed.actor == {"id": "carol", "kind": "unauthenticated"}
    assert "wrong" not in str(failed.to_dict())


def test_audit_path_setting_opens_the_log_lazily(tmp_path):
    from django.test import override_settings

    auditlog.django.set_log(None)
    with override_settings(AUDITLOG_PATH=str(tmp_path / "django-audit")):
        Order.objects.create(number="P1")
        log = auditlog.django.get_log()
        assert log.path == str(tmp_path / "django-audit")
        assert [r.action for r in log.query()] == ["shop.order.create"]
        log.close()
    auditlog.django.set_log(None)
