"""A small Django project for tests/test_django.py: one app (shop), auth, sessions, and an
in-memory SQLite database."""

SECRET_KEY = "tests-only"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "auditlog.django",
    "django_project.shop",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "auditlog.django.AuditlogMiddleware",
]
ROOT_URLCONF = "django_project.urls"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast, tests only
AUDITLOG_TRACKED_MODELS = ["shop.Order"]
AUDITLOG_EXCLUDE_FIELDS = ["password", "secret_note"]
