"""Django settings, all from environment variables (docs/webapp.md lists them).

``RISKPIPE_ROOT`` is the pipeline project the app reads (default: the current folder). The database is
SQLite (``data/webapp/db.sqlite3`` under the root) unless ``DATABASE_URL`` names another (PostgreSQL:
``postgres://user:pass@host:5432/name``). OpenID Connect sign-in is on when ``OIDC_RP_CLIENT_ID`` is set.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


RISKPIPE_ROOT = Path(os.environ.get("RISKPIPE_ROOT", ".")).resolve()
# None: <RISKPIPE_ROOT>/params.yaml
RISKPIPE_PARAMS = Path(os.environ["RISKPIPE_PARAMS"]) if os.environ.get("RISKPIPE_PARAMS") else None
# the offers events file the impact stage reads (docs/contracts.md "Offers events from the web app")
# None: <RISKPIPE_ROOT>/data/raw/interventions/app_offers.csv
RISKPIPE_OFFERS_FILE = Path(os.environ["RISKPIPE_OFFERS_FILE"]) if os.environ.get("RISKPIPE_OFFERS_FILE") else None

DEBUG = _flag("DJANGO_DEBUG")
HTTPS = _flag("RISKPIPE_HTTPS")


def _secret_key() -> str:
    """$DJANGO_SECRET_KEY, else the file ``demo_users`` writes (.secrets/webapp.key), else a per-process key."""
    if os.environ.get("DJANGO_SECRET_KEY"):
        return os.environ["DJANGO_SECRET_KEY"]
    stored = RISKPIPE_ROOT / ".secrets" / "webapp.key"
    if stored.exists():
        return stored.read_text(encoding="utf-8").strip()
    from django.core.management.utils import get_random_secret_key

    return get_random_secret_key()  # sessions end when the process does: fine for tests, not for a service


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
                 if h.strip()]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]

OIDC_ENABLED = bool(os.environ.get("OIDC_RP_CLIENT_ID"))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "webapp.practice",
]
if OIDC_ENABLED:
    INSTALLED_APPS.append("mozilla_django_oidc")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
if OIDC_ENABLED:  # re-checks the identity provider's session so a disabled account is signed out
    MIDDLEWARE.append("mozilla_django_oidc.middleware.SessionRefresh")

ROOT_URLCONF = "webapp.urls"
WSGI_APPLICATION = "webapp.wsgi.application"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [Path(__file__).parent / "templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "webapp.practice.roles.role_context",
    ]},
}]

_default_db = f"sqlite:///{RISKPIPE_ROOT / 'data' / 'webapp' / 'db.sqlite3'}"
DATABASES = {"default": dj_database_url.parse(os.environ.get("DATABASE_URL") or _default_db, conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30  # concurrent requests wait, not fail
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
if OIDC_ENABLED:
    AUTHENTICATION_BACKENDS.insert(0, "webapp.practice.oidc.RoleClaimBackend")
    OIDC_RP_CLIENT_ID = os.environ["OIDC_RP_CLIENT_ID"]
    OIDC_RP_CLIENT_SECRET = os.environ.get("OIDC_RP_CLIENT_SECRET", "")
    OIDC_RP_SIGN_ALGO = os.environ.get("OIDC_RP_SIGN_ALGO", "RS256")
    OIDC_OP_AUTHORIZATION_ENDPOINT = os.environ["OIDC_OP_AUTHORIZATION_ENDPOINT"]
    OIDC_OP_TOKEN_ENDPOINT = os.environ["OIDC_OP_TOKEN_ENDPOINT"]
    OIDC_OP_USER_ENDPOINT = os.environ["OIDC_OP_USER_ENDPOINT"]
    OIDC_OP_JWKS_ENDPOINT = os.environ.get("OIDC_OP_JWKS_ENDPOINT", "")
    OIDC_RP_SCOPES = os.environ.get("OIDC_RP_SCOPES", "openid email profile")
    OIDC_ROLES_CLAIM = os.environ.get("OIDC_ROLES_CLAIM", "roles")
    OIDC_TEAM_CLAIM = os.environ.get("OIDC_TEAM_CLAIM", "team")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = 8 * 60 * 60  # a working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = RISKPIPE_ROOT / "data" / "webapp" / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # collectstatic's target; WhiteNoise warns when it is missing
STATICFILES_DIRS = [Path(__file__).parent / "static"]
WHITENOISE_USE_FINDERS = True  # serve webapp/static directly, no collectstatic step for the demo
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024  # a controller's extract

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"webapp": {"handlers": ["console"], "level": "INFO"}},
}
