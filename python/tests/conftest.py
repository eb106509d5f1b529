import pytest

import auditlog


@pytest.fixture
def log(tmp_path):
    log = auditlog.AuditLog.open(tmp_path / "audit")
    yield log
    log.close()
