"""Settings for Things Portal, read from the environment (see README and .env.example).

The defaults are the embedded ones `make run` uses: SQLite under var/, a Celery broker on the
filesystem, and the simulator on 127.0.0.1:8001. Production sets DATABASE_URL, REDIS_URL and
THINGS_API_URL (see docker-compose.yml).
"""

import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext

from audit.keys import keys_from_env_or_file
from things_portal.env import env_bool, env_float, env_int, env_list, env_str

# Lets generic classes such as ModelAdmin[Team] be subscripted at run time, for type hints.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("THINGS_PORTAL_VAR_DIR", str(BASE_DIR / "var")))
# The portal's own files (the SQLite database with its sessions, generated keys, the
# filesystem broker) are for the portal's user only.
VAR_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
if VAR_DIR.stat().st_uid == os.getuid() and VAR_DIR.stat().st_mode & 0o077:
    VAR_DIR.chmod(0o700)

DEBUG = env_bool("DEBUG", False)


def _secret_key() -> tuple[str, bool]:
    """The SECRET_KEY from the environment, else one generated once and kept under var/.

    The second value says whether it came from the file, so a deploy check can warn.
    """
    from_env = env_str("SECRET_KEY", "")
    if from_env:
        return from_env, False
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.touch(mode=0o600)
        key_file.write_text(secrets.token_urlsafe(50))
    return key_file.read_text().strip(), True


SECRET_KEY, SECRET_KEY_FROM_FILE = _secret_key()


def _field_encryption_keys() -> tuple[list[str], bool]:
    """Fernet keys for secrets at rest, newest first; never derived from SECRET_KEY.

    Without FIELD_ENCRYPTION_KEYS in the environment, one key is generated once under var/
    (development); the second value says so, for the deploy check.
    """
    from_env = env_list("FIELD_ENCRYPTION_KEYS", [])
    if from_env:
        return from_env, False
    key_file = VAR_DIR / "field_encryption_key"
    if not key_file.exists():
        from cryptography.fernet import Fernet

        key_file.touch(mode=0o600)
        key_file.write_text(Fernet.generate_key().decode())
    return [key_file.read_text().strip()], True


FIELD_ENCRYPTION_KEYS, FIELD_ENCRYPTION_KEYS_FROM_FILE = _field_encryption_keys()

# HMAC keys of the audit trail's hash chain (audit/keys.py), comma-separated, newest first:
# new entries are hashed with the first, verify_audit accepts an entry under any key listed.
# Rotation: prepend a new key and keep the old ones listed as long as entries hashed with them
# remain (verify_audit reports an entry whose key is no longer listed). Kept outside the
# database, so someone who can write to it cannot re-chain a rewritten trail. Without it in
# the environment, one is generated once under var/ (make run); a deploy check warns.
AUDIT_CHAIN_KEYS, AUDIT_CHAIN_KEYS_FROM_FILE = keys_from_env_or_file(
    env_list("AUDIT_CHAIN_KEYS", []), VAR_DIR / "audit_chain_key"
)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "axes",
    "things_portal",
    "core",
    "audit",
    "accounts",
    "teams",
    "devices",
    "command_templates",
    "downlinks",
    "campaigns",
    "simulator",
]

MIDDLEWARE = [
    # First: load balancers and the container's check reach it over plain HTTP, any Host.
    "things_portal.health.HealthCheckMiddleware",
    "core.server_timing.ServerTimingMiddleware",
    # Compressed HTML (an htmx fragment polled every few seconds is a tenth of its size).
    # Django pads each response against BREACH, masks the CSRF token per request, and
    # no secret ever reaches a page. Inside Server-Timing: its total counts the work.
    "django.middleware.gzip.GZipMiddleware",
    "downlinks.middleware.api_time_budget",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before CSRF, the first to read the body: text that is not UTF-8 gets a 400 in words.
    "things_portal.request_encoding.request_encoding",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Django's LoginRequiredMiddleware, answering htmx with HX-Redirect to sign-in.
    "accounts.middleware.SignInRequiredMiddleware",
    # After authentication: no-store on what a signed-in person sees; Permissions-Policy.
    "things_portal.security_headers.security_headers",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After the messages middleware: signing out an idle session leaves a message.
    "accounts.middleware.IdleTimeoutMiddleware",
    # After the idle sign-out: the person's time zone for the page and the forms.
    "accounts.middleware.person_time_zone",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a lockout into our lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "things_portal.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The site's own templates (base.html, error pages) are things_portal's: every app's
        # templates, and so the installed package, carry everything a page needs.
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "teams.context_processors.portal",
                "downlinks.context_processors.sync_problems",
            ],
        },
    },
]
# Every form and field is drawn by core/form.html and core/field.html (help text and error ids
# for aria-describedby).
FORM_RENDERER = "core.form_renderer.PortalFormRenderer"

WSGI_APPLICATION = "things_portal.wsgi.application"

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, so concurrent writers (web, worker,
    # the audit chain) queue up instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"transaction_mode": "IMMEDIATE", "timeout": 20}
    )
    # Tests use a file, not memory, so a Celery worker in another process can share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-portal-{os.getpid()}.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    # First, so a locked-out username+IP is refused before the password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:sign_in"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "accounts:sign_in"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("TIME_ZONE", "Europe/Amsterdam")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Static files live in the apps (things_portal/static holds the site's CSS, JS and vendored
# libraries), so the installed package serves them without the source tree.
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "core.static_storage.PortalStaticFilesStorage"
        )
    },
}

# --- Security -----------------------------------------------------------------------------
# Cookies are Secure unless the portal runs over plain HTTP on a developer's machine.
SECURE_COOKIES = env_bool("SECURE_COOKIES", not DEBUG)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# Behind our own TLS-terminating proxy: trust its X-Forwarded-Proto.
BEHIND_TLS_PROXY = env_bool("BEHIND_TLS_PROXY", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
# How many proxies of ours stand in front, each appending the address it saw to
# X-Forwarded-For (audit.trail.client_ip). 0: the socket's address only, the header is ignored.
# Default: one behind our TLS proxy, else none. Only safe when the port is reachable through
# those proxies alone (docker-compose.yml publishes it on 127.0.0.1).
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 1 if BEHIND_TLS_PROXY else 0)
if TRUSTED_PROXY_COUNT < 0:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be 0 or more, not {TRUSTED_PROXY_COUNT}.")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Sessions: a new key at sign-in (Django's login() does that), signed out after
# SESSION_IDLE_MINUTES without a request made by the person (background refreshes don't
# count), and after SESSION_MAX_HOURS in any case.
SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 30)
SESSION_COOKIE_AGE = env_int("SESSION_MAX_HOURS", 10) * 3600
SESSION_COOKIE_NAME = "portal_session"

# Brute-force protection (django-axes): lock a username on one address after
# AXES_FAILURE_LIMIT failures, and on every address after AXES_USERNAME_FAILURE_LIMIT failures
# from any addresses (accounts.lockout), so rotating addresses does not help.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_USERNAME_FAILURE_LIMIT = env_int("AXES_USERNAME_FAILURE_LIMIT", 20)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_HANDLER = "accounts.lockout.PortalAxesHandler"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_CLIENT_IP_CALLABLE = "audit.trail.client_ip_for_axes"
AXES_VERBOSE = False

from django.utils.csp import CSP  # noqa: E402

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Email: password reset links (accounts) -----------------------------------------------
# Django 6.1's MAILERS; the deprecated EMAIL_* settings may not be defined alongside it. With
# DEBUG and no EMAIL_HOST, mail is printed to the console (`make run`), so the link can be
# followed; otherwise it goes over SMTP.
_email_host = env_str("EMAIL_HOST", "")
if _email_host or not DEBUG:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": _email_host or "localhost",
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER", ""),
                "password": env_str("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                # The reset page waits for the relay: a slow one must not hold a web worker.
                "timeout": env_int("EMAIL_TIMEOUT", 10),
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Things Portal <no-reply@localhost>")
# A reset link works once, for this long (Django's default is 3 days).
PASSWORD_RESET_TIMEOUT = env_int("PASSWORD_RESET_MINUTES", 60) * 60
# Reset requests (accounts.services): at most this many per email address asked for and per
# client IP in each window; over either, the same "check your email" page and no email.
PASSWORD_RESET_LIMIT_PER_EMAIL = env_int("PASSWORD_RESET_LIMIT_PER_EMAIL", 5)
PASSWORD_RESET_LIMIT_PER_IP = env_int("PASSWORD_RESET_LIMIT_PER_IP", 20)
PASSWORD_RESET_LIMIT_WINDOW_SECONDS = env_int("PASSWORD_RESET_LIMIT_WINDOW_MINUTES", 60) * 60
# The cache the counts live in: it must be shared by every web process, or each counts alone.
PASSWORD_RESET_LIMIT_CACHE = "default"  # noqa: S105 - a cache alias, not a password
# A cache shared by every web process. Not REDIS_URL's database: clearing a Redis cache
# empties its whole database, Celery's queue included. Unset: local memory per process.
CACHE_URL = env_str("CACHE_URL", "")
if CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": CACHE_URL,
            "KEY_PREFIX": "portal",
        }
    }
# With a shared cache, each request reads its session from it rather than the database, which
# is still written and stays the record (accounts.services.user_sessions_end reads it). Never
# from memory per process: a session ended in one process would live on in the others.
SESSION_ENGINE = f"django.contrib.sessions.backends.{'cached_db' if CACHE_URL else 'db'}"

# --- Celery -------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # A task not acknowledged within this time is handed to another worker. It must be
        # longer than the longest task (a poll cycle, bounded by the poll lock), or a slow
        # task would run twice. Progress never waits for it: beat sends a new poll every
        # interval, and a redelivered one finds nothing left to do (tasks are idempotent).
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 900),
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    # Kombu's filesystem transport, writing each message whole before a worker can see it.
    CELERY_BROKER_TRANSPORT = "things_portal.filesystem_broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "store_processed": False,
        "polling_interval": env_float("CELERY_FILESYSTEM_POLLING_INTERVAL", 1.0),
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# --- The poller (downlinks.polling) ---------------------------------------------------------
POLL_INTERVAL_SECONDS = env_float("POLL_INTERVAL_SECONDS", 30.0)
# Each search asks for changes since the last successful cycle minus this overlap, so a
# clock difference between the portal and the API of up to this much loses no change.
POLL_OVERLAP_SECONDS = env_int("POLL_OVERLAP_SECONDS", 180)
# The poller's own page size: large, so one call usually covers every change of a cycle.
POLL_PAGE_SIZE = env_int("POLL_PAGE_SIZE", 500)
# Records no search has shown for this long are fetched one by one (a safety net), at most
# POLL_FALLBACK_MAX_PER_CYCLE per team and kind per cycle.
POLL_FALLBACK_AFTER_SECONDS = env_int("POLL_FALLBACK_AFTER_SECONDS", 900)
POLL_FALLBACK_MAX_PER_CYCLE = env_int("POLL_FALLBACK_MAX_PER_CYCLE", 20)
# The per-team lock expires after this long unless the cycle extends it; a crashed worker's
# lock is free again after it.
POLL_LOCK_SECONDS = env_int("POLL_LOCK_SECONDS", 60)
POLL_BACKOFF_MAX_SECONDS = env_int("POLL_BACKOFF_MAX_SECONDS", 600)
# A create whose outcome is unknown and that is not found on the platform within this long
# is recorded as not sent.
RECONCILE_DEADLINE_SECONDS = env_int("RECONCILE_DEADLINE_SECONDS", 900)
# /healthz reports failing when a team with work has not synced for this long (several
# intervals; a team whose credential is refused is reported, not counted).
POLL_HEALTH_MAX_AGE_SECONDS = env_int("POLL_HEALTH_MAX_AGE_SECONDS", 300)
# A create still "sending" after this long has lost its process (a crash mid-call): it is
# treated as outcome unknown and reconciled, never sent again.
SEND_STUCK_AFTER_SECONDS = env_int("SEND_STUCK_AFTER_SECONDS", 120)
# A cancellation of unknown outcome is checked by the poller once it is this old: if the
# downlink still runs, Cancel is offered again.
CANCEL_SETTLE_SECONDS = env_int("CANCEL_SETTLE_SECONDS", 10)
# The audit chain's head, written down outside the database by audit.tasks.export_anchor: to
# the log (logger "audit.anchor") and, if set, appended to this file. Keep the file (or the
# log) where database access alone cannot reach it; `verify_audit --anchor-file` checks it.
AUDIT_ANCHOR_FILE = env_str("AUDIT_ANCHOR_FILE", "")
AUDIT_ANCHOR_INTERVAL_SECONDS = env_float("AUDIT_ANCHOR_INTERVAL_SECONDS", 3600.0)
# --- Campaigns (campaigns.running, campaigns.pace) -------------------------------------------
# The most creates per second any team's campaigns may send at (a team sets its own below it).
CAMPAIGN_MAX_RATE = env_int("CAMPAIGN_MAX_RATE", 50)
# Added to the one-second window of the rate: a create reaches the API a few milliseconds after
# it took its slot, and the API counts arrivals.
CAMPAIGN_RATE_MARGIN_MS = env_int("CAMPAIGN_RATE_MARGIN_MS", 30)
# After a 429 the team's campaigns send at half the rate for this long.
CAMPAIGN_SLOW_SECONDS = env_int("CAMPAIGN_SLOW_SECONDS", 60)
# Senders (threads) per campaign task, and rows per task before it queues the next.
CAMPAIGN_SENDERS = env_int("CAMPAIGN_SENDERS", 8)
CAMPAIGN_CHUNK = env_int("CAMPAIGN_CHUNK", 100)
# A running campaign without progress for this long has lost its senders: the beat's tick
# (every CAMPAIGN_TICK_SECONDS) sets it going again, and its claimed rows are taken again.
CAMPAIGN_STALL_SECONDS = env_int("CAMPAIGN_STALL_SECONDS", 30)
CAMPAIGN_TICK_SECONDS = env_float("CAMPAIGN_TICK_SECONDS", 10.0)
CAMPAIGN_CSV_MAX_BYTES = env_int("CAMPAIGN_CSV_MAX_BYTES", 2 * 1024 * 1024)
# Where every worker keeps the team's rate window: Redis (the broker's, unless set), or
# empty: a file per team under VAR_DIR, shared by the worker processes of one machine.
CAMPAIGN_RATE_REDIS_URL = env_str("CAMPAIGN_RATE_REDIS_URL", REDIS_URL)

CELERY_BEAT_SCHEDULE = {
    "poll-downlinks": {
        "task": "downlinks.tasks.poll_all_teams",
        "schedule": POLL_INTERVAL_SECONDS,
        # A cycle that could not start in time is dropped; the next one covers it.
        "options": {"expires": POLL_INTERVAL_SECONDS},
    },
    "campaigns": {
        "task": "campaigns.tasks.campaigns_tick",
        "schedule": CAMPAIGN_TICK_SECONDS,
        "options": {"expires": CAMPAIGN_TICK_SECONDS},
    },
    "export-audit-anchor": {
        "task": "audit.tasks.export_anchor",
        "schedule": AUDIT_ANCHOR_INTERVAL_SECONDS,
        # A missed anchor loses nothing: the next one covers every entry before it.
        "options": {"expires": AUDIT_ANCHOR_INTERVAL_SECONDS},
    },
}

# --- Payload codecs (devices.codecs) --------------------------------------------------------
# A vendor's codec runs in embedded V8 in worker processes: each call within these limits
# (a stuck worker is killed after the wall-clock limit and replaced).
CODEC_CALL_MS = env_int("CODEC_CALL_MS", 50)
CODEC_MEMORY_MB = env_int("CODEC_MEMORY_MB", 32)
CODEC_WALL_SECONDS = env_float("CODEC_WALL_SECONDS", 5.0)
CODEC_WORKERS = env_int("CODEC_WORKERS", 2)
# The largest codec file and examples file an admin may upload.
CODEC_MAX_BYTES = env_int("CODEC_MAX_BYTES", 256 * 1024)

# --- The Things API -----------------------------------------------------------------------
SIMULATOR_HOST = env_str("SIMULATOR_HOST", "127.0.0.1")
SIMULATOR_PORT = env_int("SIMULATOR_PORT", 8001)
THINGS_API_URL = env_str("THINGS_API_URL", f"http://{SIMULATOR_HOST}:{SIMULATOR_PORT}")
# GRIP's client-credentials token endpoint; {tenant_id} is filled in per credential.
THINGS_TOKEN_URL = env_str(
    "THINGS_TOKEN_URL", f"{THINGS_API_URL}/v2/{{tenant_id}}/oidc/idp/c1/token"
)
# The only hosts the portal calls for the Things API and its identity service (exact names or
# IP literals, or ".example.com" for a domain). Loopback, private and link-local addresses
# are refused unless listed as exactly that host. Default: the two URLs' hosts above.
THINGS_ALLOWED_HOSTS = env_list(
    "THINGS_ALLOWED_HOSTS",
    sorted(
        {
            host
            for host in (
                urlsplit(THINGS_API_URL).hostname,
                urlsplit(THINGS_TOKEN_URL.replace("{tenant_id}", "tenant")).hostname,
            )
            if host
        }
    ),
)
# The audience of a token request: the Things application id in GRIP.
THINGS_AUDIENCE = env_str("THINGS_AUDIENCE", "things-simulator")
THINGS_CONNECT_TIMEOUT = env_float("THINGS_CONNECT_TIMEOUT", 3.0)
THINGS_READ_TIMEOUT = env_float("THINGS_READ_TIMEOUT", 10.0)
THINGS_RETRY_ATTEMPTS = env_int("THINGS_RETRY_ATTEMPTS", 3)
# A web request gives up on the API after this long in all (retries and token fetches
# included), well within the web server's worker timeout (gunicorn.conf.py).
THINGS_PAGE_DEADLINE_SECONDS = env_float("THINGS_PAGE_DEADLINE_SECONDS", 8.0)
# The specs state no maximum page size, so ours is a setting.
THINGS_PAGE_SIZE = env_int("THINGS_PAGE_SIZE", 50)
# The API cannot filter on a downlink's outcome (succeeded, failed, a failure reason): a list
# filtered by one reads pages of DONE downlinks and filters them itself, at most this many
# pages per list page (one more per further spelling of a device id), then offers "Show more".
THINGS_OUTCOME_SCAN_PAGES = 5
# How often pages showing running downlinks refresh themselves.
LIVE_REFRESH_SECONDS = env_int("LIVE_REFRESH_SECONDS", 3)
# While the API cannot be read, a page tries again after 1, 2, 4, … times that, at most this.
LIVE_REFRESH_MAX_SECONDS = env_int("LIVE_REFRESH_MAX_SECONDS", 15)

# --- The simulator ------------------------------------------------------------------------
SIMULATOR_DATABASE = env_str("SIMULATOR_DATABASE", str(VAR_DIR / "simulator.sqlite3"))
SIMULATOR_PENDING_SECONDS = env_float("SIMULATOR_PENDING_SECONDS", 5.0)
SIMULATOR_EXECUTING_SECONDS = env_float("SIMULATOR_EXECUTING_SECONDS", 10.0)
SIMULATOR_RETRY_SECONDS = env_float("SIMULATOR_RETRY_SECONDS", 5.0)
SIMULATOR_CANCEL_SECONDS = env_float("SIMULATOR_CANCEL_SECONDS", 2.0)
SIMULATOR_CLOCK_OFFSET_SECONDS = env_float("SIMULATOR_CLOCK_OFFSET_SECONDS", 0.0)
SIMULATOR_LATENCY_MS = env_float("SIMULATOR_LATENCY_MS", 0.0)
# Empty: the simulator generates a key once and keeps it in its database.
SIMULATOR_SIGNING_KEY = env_str("SIMULATOR_SIGNING_KEY", "")
# Set: every request to the simulator's control API (/_sim/: faults, clock, clients, tokens,
# reset) needs it as a bearer token, and run_simulator may listen beyond the loopback. Empty
# (make run, the tests): the control API is open, and run_simulator listens on loopback only.
SIMULATOR_CONTROL_TOKEN = env_str("SIMULATOR_CONTROL_TOKEN", "")

# /healthz tells anyone only whether this node can serve; with this as a bearer token (or a
# staff session) it also says why. Empty: details for staff sessions only.
HEALTHZ_TOKEN = env_str("HEALTHZ_TOKEN", "")

# Where a response's time went (Things API, database, total), as a Server-Timing header: for
# developers (make run turns it on); it tells anyone how many queries a page makes.
SERVER_TIMING = env_bool("SERVER_TIMING", DEBUG)

# --- Logging ------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # httpx logs every request line at INFO; our client logs its own, without secrets.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
