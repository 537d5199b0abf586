"""MailGuard settings.

Everything comes from the environment. With nothing set, MailGuard runs in its
embedded mode: SQLite, a filesystem Celery broker and a local .eml outbox, so a
newcomer needs only Python. DATABASE_URL, CELERY_BROKER_URL and the ESP settings
switch the same code to PostgreSQL, Redis and a real ESP.
"""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from .env import env_bool, env_int, env_list, env_prefixed, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MAILGUARD_VAR_DIR", str(BASE_DIR / "var")))

PRODUCTION = env_bool("MAILGUARD_PRODUCTION")
DEBUG = env_bool("MAILGUARD_DEBUG") and not PRODUCTION

SECRET_KEY = env_str("MAILGUARD_SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise RuntimeError("MAILGUARD_SECRET_KEY must be set when MAILGUARD_PRODUCTION is on.")
    SECRET_KEY = "embedded-mode-only-not-a-secret-" + "x" * 32

# The key of the audit chain's HMAC and of its checkpoints (approvals.audit). It must live outside
# the database, so a database that is rewritten cannot re-sign itself. Production requires it;
# the embedded mode creates a random one in MAILGUARD_AUDIT_KEY_FILE on first use.
MAILGUARD_AUDIT_KEY = env_str("MAILGUARD_AUDIT_KEY")
if PRODUCTION and not MAILGUARD_AUDIT_KEY:
    raise RuntimeError("MAILGUARD_AUDIT_KEY must be set when MAILGUARD_PRODUCTION is on.")
MAILGUARD_AUDIT_KEY_FILE = Path(env_str("MAILGUARD_AUDIT_KEY_FILE", str(VAR_DIR / "audit.key")))
# Signed checkpoints of the chain, one JSON line each (make it append-only: chattr +a).
MAILGUARD_AUDIT_CHECKPOINT_FILE = Path(
    env_str("MAILGUARD_AUDIT_CHECKPOINT_FILE", str(VAR_DIR / "audit-checkpoints.jsonl")))

ALLOWED_HOSTS = env_list("MAILGUARD_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("MAILGUARD_CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "anymail",
    "approvals",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves the collected static files in production without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Sign out after MAILGUARD_SESSION_IDLE_SECONDS without activity, MAILGUARD_SESSION_MAX_SECONDS in all.
    "approvals.middleware.SessionLimitsMiddleware",
    # Who is acting, for the audit events of account and settings changes (approvals.account_audit).
    "approvals.middleware.ActorMiddleware",
    # request.user.is_verified(): has this session entered a TOTP code?
    "django_otp.middleware.OTPMiddleware",
    # Reviewers, auditors and administrators must pass two-factor sign-in first.
    "approvals.otp.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Pages and downloads carry personal data: no browser or proxy may keep a copy.
    "approvals.middleware.NoStoreMiddleware",
    # Axes must come last: it inspects the outcome of authentication.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "mailguard.urls"
WSGI_APPLICATION = "mailguard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "approvals.context_processors.roles",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------
# SQLite in embedded mode; a file (also for tests) so that the Celery worker, a
# separate process, sees the same data as the web app.
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'mailguard.sqlite3'}",
        conn_max_age=env_int("MAILGUARD_DB_CONN_MAX_AGE", 0),
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test-mailguard.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Internationalisation: Japanese first ---------------------------------------
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env_str("MAILGUARD_TIME_ZONE", "Asia/Tokyo")
USE_I18N = True
USE_TZ = True

# --- Static and private files ---------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
# Uploaded lists and attachments live outside any web root; only authorised views
# stream them (see approvals.views). There is deliberately no MEDIA_URL route.
MEDIA_ROOT = Path(env_str("MAILGUARD_PRIVATE_DIR", str(VAR_DIR / "private")))
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# --- Authentication ---------------------------------------------------------------
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
AXES_ENABLED = env_bool("MAILGUARD_AXES_ENABLED", True)
AXES_FAILURE_LIMIT = env_int("MAILGUARD_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Two-factor sign-in (TOTP, django-otp) for reviewers, auditors and administrators
# (approvals.otp). On by default in production; the embedded demo leaves it off.
MAILGUARD_REQUIRE_2FA = env_bool("MAILGUARD_REQUIRE_2FA", PRODUCTION)
OTP_TOTP_ISSUER = "MailGuard"
# Each wrong code doubles the wait before the next attempt (1 s, 2 s, 4 s, ...).
OTP_TOTP_THROTTLE_FACTOR = 1
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security headers -------------------------------------------------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# No page may be framed, except the sanitised HTML preview inside the review page
# (approvals.views.reviewer.preview_html allows its own origin explicitly).
X_FRAME_OPTIONS = "DENY"
# A session ends after 30 minutes without activity and after 12 hours in all, whatever happens
# in between (approvals.middleware.SessionLimitsMiddleware); the cookie expires with it.
SESSION_IDLE_SECONDS = env_int("MAILGUARD_SESSION_IDLE_SECONDS", 30 * 60)
SESSION_MAX_SECONDS = env_int("MAILGUARD_SESSION_MAX_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_MAX_SECONDS
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_bool("MAILGUARD_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("MAILGUARD_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Celery -----------------------------------------------------------------------
# Embedded mode uses kombu's filesystem transport: a broker that needs no server.
BROKER_DIR = Path(env_str("MAILGUARD_BROKER_DIR", str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.2,
    }
    for folder in ("queue", "processed"):
        (BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
# One queue per deployment by default; the fault tests give their own workers a queue of their own.
CELERY_TASK_DEFAULT_QUEUE = env_str("MAILGUARD_CELERY_QUEUE", "celery")
# The database, not the broker, is the source of truth for what was sent: a task
# lost with a dead worker is simply delivered again and re-reads the ledger.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = False
# Beat's crontab entries (the daily digest) are in local time.
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    "sweep-deliveries": {
        "task": "approvals.tasks.sweep_deliveries",
        "schedule": env_int("MAILGUARD_SWEEP_SECONDS", 30),
    },
    # Verify the audit chain and write a signed checkpoint (at least daily; hourly by default).
    "audit-checkpoint": {
        "task": "approvals.tasks.checkpoint_audit",
        "schedule": env_int("MAILGUARD_AUDIT_CHECKPOINT_SECONDS", 3600),
    },
    # Review reminders, expired review requests, system mail a lost task left waiting.
    "sweep-notifications": {
        "task": "approvals.notifications.tasks.sweep_notifications",
        "schedule": env_int("MAILGUARD_NOTIFICATION_SWEEP_SECONDS", 300),
    },
    "daily-digest": {
        "task": "approvals.notifications.tasks.send_daily_digest",
        "schedule": crontab(hour=env_int("MAILGUARD_DIGEST_HOUR", 8), minute=0),
    },
}

# --- Email ------------------------------------------------------------------------
# Embedded mode keeps every message as an .eml file in the outbox. A real ESP is
# chosen with MAILGUARD_EMAIL_BACKEND (e.g. anymail.backends.postmark.EmailBackend)
# and configured with ANYMAIL_* variables (ANYMAIL_POSTMARK_SERVER_TOKEN=...).
EMAIL_BACKEND = env_str("MAILGUARD_EMAIL_BACKEND", "approvals.delivery.outbox.OutboxEmailBackend")
MAILGUARD_OUTBOX_DIR = Path(env_str("MAILGUARD_OUTBOX_DIR", str(VAR_DIR / "outbox")))
ANYMAIL = env_prefixed("ANYMAIL_")

# An SMTP relay (an on-premise MTA, Microsoft 365 / Google Workspace relay, an LGWAN gateway)
# is chosen with MAILGUARD_EMAIL_BACKEND=approvals.delivery.smtp.EmailBackend.
SMTP_SECURITY_MODES = {"none": 25, "starttls": 587, "tls": 465}
_smtp_security = env_str("MAILGUARD_SMTP_SECURITY", "starttls").strip().lower()
if _smtp_security not in SMTP_SECURITY_MODES:
    raise RuntimeError("MAILGUARD_SMTP_SECURITY must be one of: none, starttls, tls.")
MAILGUARD_SMTP = {
    "HOST": env_str("MAILGUARD_SMTP_HOST", "localhost"),
    "PORT": env_int("MAILGUARD_SMTP_PORT", SMTP_SECURITY_MODES[_smtp_security]),
    # none: plain text (a catcher on this machine); starttls: upgrade on the submission port;
    # tls: TLS from the first byte. Certificates are always verified; there is no "insecure" mode.
    "SECURITY": _smtp_security,
    "USER": env_str("MAILGUARD_SMTP_USER"),
    "PASSWORD": env_str("MAILGUARD_SMTP_PASSWORD"),
    # A private relay's CA (PEM); when set, only it is trusted for the relay's certificate.
    "CA_FILE": env_str("MAILGUARD_SMTP_CA_FILE"),
    # Seconds for connecting and for each command's answer.
    "TIMEOUT": float(env_str("MAILGUARD_SMTP_TIMEOUT", "30")),
    # Seconds to send the message and wait for the answer to its end. No answer in time makes
    # the delivery "in doubt" (the relay may have it), so keep it well under IN_DOUBT_AFTER_SECONDS.
    "DATA_TIMEOUT": float(env_str("MAILGUARD_SMTP_DATA_TIMEOUT", "120")),
    # A session is closed and opened again after this many messages (relays limit them too).
    "MESSAGES_PER_CONNECTION": env_int("MAILGUARD_SMTP_MESSAGES_PER_CONNECTION", 100),
}
# Django's own SMTP settings follow the same variables, for anything sent through django.core.mail.
EMAIL_HOST = MAILGUARD_SMTP["HOST"]
EMAIL_PORT = MAILGUARD_SMTP["PORT"]
EMAIL_HOST_USER = MAILGUARD_SMTP["USER"]
EMAIL_HOST_PASSWORD = MAILGUARD_SMTP["PASSWORD"]
EMAIL_USE_TLS = _smtp_security == "starttls"
EMAIL_USE_SSL = _smtp_security == "tls"
EMAIL_TIMEOUT = MAILGUARD_SMTP["TIMEOUT"]
DEFAULT_FROM_EMAIL = env_str("MAILGUARD_DEFAULT_FROM_EMAIL", "mailguard@localhost")

# --- MailGuard policy -------------------------------------------------------------
MAILGUARD = {
    "MAX_RECIPIENTS": env_int("MAILGUARD_MAX_RECIPIENTS", 200_000),
    "MAX_LIST_BYTES": env_int("MAILGUARD_MAX_LIST_BYTES", 50 * 1024 * 1024),
    "MAX_ATTACHMENT_BYTES": env_int("MAILGUARD_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024),
    "MAX_CAMPAIGN_ATTACHMENT_BYTES": env_int("MAILGUARD_MAX_CAMPAIGN_ATTACHMENT_BYTES", 20 * 1024 * 1024),
    # Time between approval and the first message, during which it can be cancelled.
    "HOLD_SECONDS": env_int("MAILGUARD_HOLD_SECONDS", 600),
    "SHARED_MODE_MAX_RECIPIENTS": env_int("MAILGUARD_SHARED_MODE_MAX_RECIPIENTS", 10),
    # Real domains that look like a typo or a look-alike of another; the preflight lets them through.
    "LOOKALIKE_DOMAINS_ALLOWED": env_list("MAILGUARD_LOOKALIKE_DOMAINS_ALLOWED"),
    "SEND_BATCH_SIZE": env_int("MAILGUARD_SEND_BATCH_SIZE", 50),
    # Batch tasks a campaign runs at once (spread over all workers).
    "SEND_PARALLELISM": env_int("MAILGUARD_SEND_PARALLELISM", 2),
    "SEND_MAX_ATTEMPTS": env_int("MAILGUARD_SEND_MAX_ATTEMPTS", 5),
    "SEND_RETRY_BASE_SECONDS": env_int("MAILGUARD_SEND_RETRY_BASE_SECONDS", 5),
    # The ESP's limit, shared by all workers (0 = none). Burst 1 spaces messages evenly.
    "RATE_PER_SECOND": float(env_str("MAILGUARD_RATE_PER_SECOND", "50")),
    "RATE_BURST": env_int("MAILGUARD_RATE_BURST", 1),
    "RATE_LIMIT_REDIS_URL": env_str(
        "MAILGUARD_RATE_LIMIT_REDIS_URL", CELERY_BROKER_URL if CELERY_BROKER_URL.startswith("redis") else ""),
    # Staged send: after approval, send this many recipients first, then pause for a person (0 = off).
    "CANARY_SIZE": env_int("MAILGUARD_CANARY_SIZE", 0),
    # Seed addresses of the organisation that get a copy of the first message before anyone else.
    "SEED_ADDRESSES": env_list("MAILGUARD_SEED_ADDRESSES"),
    # Every N messages a worker writes what was accepted and re-reads the campaign's state, so pause
    # and cancel act within a batch; a worker killed in between leaves at most N accepted messages
    # unrecorded, which the sweep shows as in doubt (an ESP batch call is one such write per call).
    "STATE_CHECK_EVERY": env_int("MAILGUARD_STATE_CHECK_EVERY", 25),
    # listmonk's idea: after this many failures in a row the campaign pauses itself and says why.
    "AUTO_PAUSE_AFTER_FAILURES": env_int("MAILGUARD_AUTO_PAUSE_AFTER_FAILURES", 20),
    # A delivery claimed by a worker that never reported back is "in doubt" after this.
    "IN_DOUBT_AFTER_SECONDS": env_int("MAILGUARD_IN_DOUBT_AFTER_SECONDS", 600),
    "MESSAGE_ID_DOMAIN": env_str("MAILGUARD_MESSAGE_ID_DOMAIN", "mailguard.invalid"),
    # ESP tracking webhooks: larger bodies are refused unread (413).
    "WEBHOOK_MAX_BYTES": env_int("MAILGUARD_WEBHOOK_MAX_BYTES", 256 * 1024),
    # The auditor is shown approvals by accounts that gained the Reviewer role within this many days.
    "RECENT_ROLE_GRANT_DAYS": env_int("MAILGUARD_RECENT_ROLE_GRANT_DAYS", 30),
    # Where recipients reach MailGuard's public pages (download links, unsubscribe): the links in
    # every message start with this. Production defaults to https:// and the first allowed host.
    "PUBLIC_BASE_URL": env_str(
        "MAILGUARD_PUBLIC_BASE_URL",
        f"https://{ALLOWED_HOSTS[0]}" if PRODUCTION and ALLOWED_HOSTS else "http://127.0.0.1:8000",
    ).rstrip("/"),
    # Download links: valid for this many days after sending starts; this many wrong addresses
    # per recipient lock their links for the lockout time.
    "LINK_TTL_DAYS": env_int("MAILGUARD_LINK_TTL_DAYS", 7),
    "LINK_MAX_WRONG_ADDRESSES": env_int("MAILGUARD_LINK_MAX_WRONG_ADDRESSES", 5),
    "LINK_LOCKOUT_SECONDS": env_int("MAILGUARD_LINK_LOCKOUT_SECONDS", 3600),
    # The mailto: of List-Unsubscribe (a mailbox a person reads); empty: the campaign's sender address.
    "UNSUBSCRIBE_MAILTO": env_str("MAILGUARD_UNSUBSCRIBE_MAILTO"),
    # Sender authentication (approvals.sender_auth): SPF, DKIM and DMARC looked up in DNS.
    "SENDER_AUTH_CHECK": env_bool("MAILGUARD_SENDER_AUTH_CHECK", True),
    # "ip" or "ip:port", comma-separated; empty: the system's resolver (/etc/resolv.conf).
    "DNS_NAMESERVERS": env_list("MAILGUARD_DNS_NAMESERVERS"),
    "DNS_TIMEOUT_SECONDS": float(env_str("MAILGUARD_DNS_TIMEOUT_SECONDS", "3")),
    # A result is reused this long; a domain DNS did not answer for is asked again after the retry time.
    "SENDER_AUTH_MAX_AGE_SECONDS": env_int("MAILGUARD_SENDER_AUTH_MAX_AGE_SECONDS", 86400),
    "SENDER_AUTH_RETRY_SECONDS": env_int("MAILGUARD_SENDER_AUTH_RETRY_SECONDS", 300),
    # What the configured transport (the ESP) can align with a sender's domain: the domains it
    # DKIM-signs for (d=) and their selectors, and the SPF includes of its servers when it sends
    # with an envelope sender (Return-Path) in the sender's own domain.
    "DKIM_SIGNING_DOMAINS": [d.lower().rstrip(".") for d in env_list("MAILGUARD_DKIM_SIGNING_DOMAINS")],
    "DKIM_SELECTORS": env_list("MAILGUARD_DKIM_SELECTORS"),
    "SPF_INCLUDES": [d.lower().rstrip(".") for d in env_list("MAILGUARD_SPF_INCLUDES")],
    # Send window (approvals.send_window): local hours on working days; empty = any time.
    "SEND_WINDOW": env_str("MAILGUARD_SEND_WINDOW"),
    "SEND_DAYS": env_str("MAILGUARD_SEND_DAYS", "mon,tue,wed,thu,fri"),
    # Public holidays of this country (ISO code, the `holidays` package) are not working days; empty = none.
    "SEND_HOLIDAYS": env_str("MAILGUARD_SEND_HOLIDAYS", "JP"),
    "SEND_CLOSED_DATES": env_str("MAILGUARD_SEND_CLOSED_DATES"),
    # New accounts start in trial mode (internal addresses and seeds only) until an administrator lifts it.
    "TRIAL_FOR_NEW_DRAFTERS": env_bool("MAILGUARD_TRIAL_FOR_NEW_DRAFTERS", True),
    # Notifications to staff (approvals.notifications): links in them start with this address
    # (MailGuard's own address for its users; PUBLIC_BASE_URL is the one recipients reach).
    "BASE_URL": env_str("MAILGUARD_BASE_URL", "http://127.0.0.1:8000").rstrip("/"),
    # Remind reviewers after this many hours in review; send an unreviewed request back after this many days.
    "REVIEW_REMINDER_HOURS": env_int("MAILGUARD_REVIEW_REMINDER_HOURS", 24),
    "REVIEW_EXPIRY_DAYS": env_int("MAILGUARD_REVIEW_EXPIRY_DAYS", 7),
    "SYSTEM_MAIL_MAX_ATTEMPTS": env_int("MAILGUARD_SYSTEM_MAIL_MAX_ATTEMPTS", 5),
}
# MailGuard's own mail (notifications, digests) goes through this backend; empty = EMAIL_BACKEND.
MAILGUARD_SYSTEM_EMAIL_BACKEND = env_str("MAILGUARD_SYSTEM_EMAIL_BACKEND")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("MAILGUARD_LOG_LEVEL", "INFO")},
}
