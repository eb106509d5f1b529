from django.apps import AppConfig


class AuditlogConfig(AppConfig):
    name = "auditlog.django"
    label = "auditlog_django"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from . import capture

        capture.connect()
