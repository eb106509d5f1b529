from django.apps import AppConfig


# Django ships no type information (django-stubs would need its mypy plugin and a settings
# module to check against), so AppConfig is Any to mypy --strict.
class AuditlogConfig(AppConfig):  # type: ignore[misc]
    name = "auditlog.django"
    label = "auditlog_django"
    verbose_name = "Audit log"

    def ready(self) -> None:
        from . import capture

        capture.connect()
