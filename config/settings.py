"""Concord settings: everything comes from environment variables with defaults that run.

With no environment at all you get SQLite, an in-memory channel layer and the database-backed
task queue, so `make run` works on a bare machine. `DATABASE_URL` and `REDIS_URL` switch to
servers; `DJANGO_DEBUG=0` turns on the production hardening that `check --deploy` looks for.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    """Read a boolean; a typo must fail at boot, not silently mean False."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0/true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


DEBUG = env_bool("DJANGO_DEBUG", True)
_DEV_SECRET = "concord-dev-only-secret-key-do-not-use-in-production-0123456789"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "" if not DEBUG else _DEV_SECRET)
if not SECRET_KEY:
    raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0")

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",")
    if h.strip()
]
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "django_tasks",
    "django_tasks_db",
    "django_rq",
    "kernel",
    "deliberation",
    "consensus.snapshots",
    "alignment",
    "frontend",
]

MIDDLEWARE = [
    # First, so that it sees every answer under /api/ (Django's own 400/403/404/500 pages
    # included) and refuses oversized or hostile bodies before anything parses them.
    "kernel.middleware.ApiGuardMiddleware",
    "kernel.middleware.ContentSecurityPolicyMiddleware",
    # Token votes go from here straight to the batched vote view (see its docstring).
    "deliberation.vote_batching.VoteFastLaneMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "kernel.static.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so every other process_view (CSRF) has run: a read whose database connection died
    # mid-request runs again once on a fresh one (kernel/db_retry.py).
    "kernel.db_retry.RetryReadsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.debug",
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 0),
        # A connection PostgreSQL terminated (restart, pg_terminate_backend, failover) is
        # noticed before a request uses it: persistent connections are pinged at request start
        # and the pool checks each connection as it hands it out (then opens a fresh one).
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", True),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request may run in its own thread; a pool bounds the connections a
    # server process opens (persistent per-thread connections would exhaust PostgreSQL).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DB_POOL_MAX", 16),
        "timeout": 30,
        # Connections older than this are replaced, so none outlives a server-side idle kill.
        "max_lifetime": env_int("DB_POOL_MAX_LIFETIME_S", 1800),
        "max_idle": env_int("DB_POOL_MAX_IDLE_S", 300),
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL + a busy timeout let the web server and the worker write the same file without
    # "database is locked" errors under concurrent voting.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")


def _embedded_channel_layer_path() -> Path:
    """The channel-layer file every process of one installation shares.

    Derived from the database, so the server and the worker (and each test installation, which
    has its own database) meet in the same file without configuring anything:
    `<sqlite file>-channels`, or one file per PostgreSQL database under CONCORD_DATA_DIR.
    """
    explicit = os.environ.get("CONCORD_CHANNEL_LAYER_PATH", "")
    if explicit:
        return Path(explicit)
    database = DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        return Path(f"{database['NAME']}-channels")
    key = "-".join(str(database.get(part) or "") for part in ("HOST", "PORT", "NAME"))
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    data_dir = Path(os.environ.get("CONCORD_DATA_DIR", BASE_DIR / "var"))
    return data_dir / f"channels-{safe}.sqlite3"


if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # channels_redis blocks up to 5 s in BZPOPMIN waiting for a message; redis-py's
                # socket timeout must be longer, or every quiet consumer raises TimeoutError and
                # its socket is closed 5-10 s after the last event. Health checks (PING on a
                # connection idle this long) find half-open connections before they are used.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "socket_timeout": env_int("REDIS_SOCKET_TIMEOUT_S", 30),
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 15,
                        "retry_on_timeout": True,
                    }
                ],
                "prefix": os.environ.get("CHANNELS_PREFIX", "concord"),
            },
        }
    }
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    CHANNEL_LAYERS = {
        "default": {
            # Cross-process without a server: the worker's broadcasts reach every page.
            "BACKEND": "kernel.channel_layer.SQLiteChannelLayer",
            "CONFIG": {"path": str(_embedded_channel_layer_path())},
        }
    }
    TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# django-rq reads its queues from here; used by the RQ task backend when REDIS_URL is set.
RQ_QUEUES = {
    "default": {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 6 * 3600}
}

if os.environ.get("CONCORD_TASKS_IMMEDIATE"):
    TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ar", _("Arabic")),
    ("fa", _("Persian")),
    ("zh-hans", _("Chinese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
CONCORD_DATA_DIR = Path(os.environ.get("CONCORD_DATA_DIR", BASE_DIR / "var"))

LOGIN_URL = "/accounts/login/"
# Without a `next`, a login lands on the home page (Django's default is /accounts/profile/,
# which does not exist here).
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_PAGINATION_CLASS": "kernel.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "kernel.api_errors.exception_handler",
}

SPECTACULAR_SETTINGS = {
    # Swagger UI from drf-spectacular-sidecar's static files, not a CDN: the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "TITLE": "Concord API",
    "DESCRIPTION": "Deliberation, consensus and alignment data for collective constitutions.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {"ProjectionEnum": "consensus.snapshots.apis.PROJECTION_CHOICES"},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.openapi.add_error_responses",
    ],
}

if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Abuse and size limits (documented in README).
# name -> (requests, window seconds); CONCORD_RATE_LIMIT_SCALE multiplies every count (load tests).
_RATE_SCALE = float(os.environ.get("CONCORD_RATE_LIMIT_SCALE", "1"))
CONCORD_RATE_LIMITS = {
    name: (max(1, int(count * _RATE_SCALE)), window)
    for name, (count, window) in {
        "vote_participant": (120, 60),
        "vote_ip": (6000, 60),
        "statement_participant": (10, 60),
        "statement_ip": (200, 60),
        "join_ip": (120, 60),
    }.items()
}
# How many reverse proxies in front of the server append to X-Forwarded-For: the client is the
# entry that many hops from the right (entries further left are written by the client itself).
CONCORD_TRUSTED_PROXIES = env_int("CONCORD_TRUSTED_PROXIES", 0)
if CONCORD_TRUSTED_PROXIES < 0:
    raise ImproperlyConfigured("CONCORD_TRUSTED_PROXIES must be 0 or more")
# The old switch trusted the leftmost, client-written entry; it now means one proxy.
CONCORD_TRUST_X_FORWARDED_FOR = env_bool("CONCORD_TRUST_X_FORWARDED_FOR", False)
if CONCORD_TRUST_X_FORWARDED_FOR and "CONCORD_TRUSTED_PROXIES" not in os.environ:
    CONCORD_TRUSTED_PROXIES = 1
# Where rate-limit counters live: "redis" (REDIS_URL), "database" (shared by every process on
# the same database, the default without Redis) or "memory" (per process: a startup warning
# says so unless DEBUG).
CONCORD_RATE_LIMIT_STORE = os.environ.get(
    "CONCORD_RATE_LIMIT_STORE", "redis" if REDIS_URL else "database"
)
if CONCORD_RATE_LIMIT_STORE not in {"redis", "database", "memory"}:
    raise ImproperlyConfigured("CONCORD_RATE_LIMIT_STORE must be redis, database or memory")
if CONCORD_RATE_LIMIT_STORE == "redis" and not REDIS_URL:
    raise ImproperlyConfigured("CONCORD_RATE_LIMIT_STORE=redis needs REDIS_URL")
# Hostile-input limits on every /api/ request (kernel/middleware.py): larger bodies get 413,
# deeper JSON 400; list endpoints serve at most this many rows a page.
CONCORD_API_MAX_BODY_BYTES = env_int("CONCORD_API_MAX_BODY_BYTES", 1024 * 1024)
CONCORD_API_MAX_JSON_DEPTH = env_int("CONCORD_API_MAX_JSON_DEPTH", 32)
CONCORD_API_MAX_PAGE_SIZE = env_int("CONCORD_API_MAX_PAGE_SIZE", 1000)
# Participant tokens older than this are refused (the participant joins again: same account or
# external id gives the same participant). Revoking bumps Participant.token_version.
CONCORD_PARTICIPANT_TOKEN_TTL = env_int("CONCORD_PARTICIPANT_TOKEN_TTL", 30 * 24 * 3600)
# The server pings every open websocket this often, so proxies and NAT never see it idle.
CONCORD_WS_HEARTBEAT_S = float(os.environ.get("CONCORD_WS_HEARTBEAT_S", "20"))
# Content-Security-Policy on every page: scripts, styles and connections from this origin only.
CONCORD_CSP = os.environ.get(
    "CONCORD_CSP",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'",
)
# Group-commit token voters' votes (deliberation/vote_batching.py); 0 casts each vote through
# the DRF view, one commit per vote (same service, same answers: for comparison and debugging).
CONCORD_VOTE_BATCHING = env_bool("CONCORD_VOTE_BATCHING", True)
CONCORD_STATEMENT_MAX_LENGTH = env_int("CONCORD_STATEMENT_MAX_LENGTH", 1000)
CONCORD_MAX_STATEMENTS_PER_PARTICIPANT = env_int("CONCORD_MAX_STATEMENTS_PER_PARTICIPANT", 50)
# Recompute policy: at most one consensus recompute per conversation per this many seconds.
CONCORD_RECOMPUTE_DEBOUNCE_S = float(os.environ.get("CONCORD_RECOMPUTE_DEBOUNCE_S", "2"))
# Jobs: a running job whose heartbeat is older than this is taken to be dead and re-queued; it
# beats every quarter of it, and the worker sweeps for lost jobs as often (kernel/jobs.py).
CONCORD_JOB_STALE_S = float(os.environ.get("CONCORD_JOB_STALE_S", "60"))

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the page JavaScript reads it to send X-CSRFToken
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
