"""Shared fixtures: demo roles, the fake ESP, and a real Celery worker process.

The suite runs in two set-ups with the same code: the embedded one (SQLite file,
filesystem broker) and the service one (PostgreSQL and Redis, chosen by
DATABASE_URL and CELERY_BROKER_URL). The worker fixture starts
``celery -A mailguard worker`` as a separate process pointed at the test
database, so everything it does crosses a real process boundary.
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test import Client

from approvals.management.commands.seed_demo import ensure_groups
from approvals.models import SenderIdentity
from approvals.roles import Role
from tests.fake_esp import FakeESP
from tests.smtp_server import SMTPServer

ROOT = Path(__file__).resolve().parent.parent
POSTMARK_BACKEND = "anymail.backends.postmark.EmailBackend"
SMTP_BACKEND = "approvals.delivery.smtp.EmailBackend"


# --- Fake ESP -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_esp_server():
    with FakeESP() as server:
        yield server


@pytest.fixture
def esp(fake_esp_server, settings):
    """The fake ESP, cleared, and this process's anymail pointed at it."""
    fake_esp_server.reset_faults()
    fake_esp_server.clear()
    settings.EMAIL_BACKEND = POSTMARK_BACKEND
    settings.ANYMAIL = {
        "POSTMARK_SERVER_TOKEN": fake_esp_server.token,
        "POSTMARK_API_URL": fake_esp_server.url,
        "REQUESTS_TIMEOUT": 5,
    }
    yield fake_esp_server
    fake_esp_server.reset_faults()


# --- A local SMTP relay (aiosmtpd) ----------------------------------------------------------


@pytest.fixture(scope="session")
def smtp_relay_server():
    with SMTPServer() as server:
        yield server


def smtp_settings(server: SMTPServer, **overrides) -> dict:
    """MAILGUARD_SMTP for a test server: plain text on 127.0.0.1 unless overridden."""
    return {**django_settings.MAILGUARD_SMTP, "HOST": server.host, "PORT": server.port, "SECURITY": "none",
            "USER": "", "PASSWORD": "", "CA_FILE": "", "TIMEOUT": 30, "DATA_TIMEOUT": 30, **overrides}


@pytest.fixture(params=["pipelining", "one command at a time"])
def relay(request, smtp_relay_server, settings):
    """The SMTP server, cleared, and this process's email backend pointed at it; each test runs
    against a relay that offers PIPELINING and against one that does not."""
    smtp_relay_server.clear()
    smtp_relay_server.pipelining = request.param == "pipelining"
    settings.EMAIL_BACKEND = SMTP_BACKEND
    settings.MAILGUARD_SMTP = smtp_settings(smtp_relay_server)
    yield smtp_relay_server
    smtp_relay_server.reset_faults()
    smtp_relay_server.pipelining = True


def smtp_worker_overrides(server: SMTPServer, **overrides) -> dict[str, str]:
    """Environment for a worker process that sends through ``server``."""
    return {"MAILGUARD_EMAIL_BACKEND": SMTP_BACKEND, "MAILGUARD_SMTP_HOST": server.host,
            "MAILGUARD_SMTP_PORT": server.port, "MAILGUARD_SMTP_SECURITY": "none", **overrides}


@pytest.fixture(autouse=True)
def _english_messages():
    """Direct calls in tests read English messages; pages follow the browser's language."""
    from django.utils import translation

    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _no_hold_window(settings):
    """Tests send at once unless they set a hold window themselves; test accounts start out of
    trial mode unless a test puts them in it (tests/test_trial_mode.py)."""
    settings.MAILGUARD = {**settings.MAILGUARD, "HOLD_SECONDS": 0, "SEND_RETRY_BASE_SECONDS": 0,
                          "TRIAL_FOR_NEW_DRAFTERS": False}


@pytest.fixture(autouse=True)
def _no_dns_lookups(settings, _no_hold_window):
    """Never the internet: sender domains are looked up only in tests that start tests/dns_server.py."""
    settings.MAILGUARD = {**settings.MAILGUARD, "SENDER_AUTH_CHECK": False}


# --- Users and roles --------------------------------------------------------------------


def make_user(django_user_model, username: str, *roles: Role, **extra):
    groups = ensure_groups()
    user = django_user_model.objects.create_user(username, f"{username}@example.jp", "pw-" + username, **extra)
    user.groups.set([groups[role] for role in roles])
    return user


@pytest.fixture
def client_for():
    """A fresh signed-in client per person (no shared cookies), asking for English pages."""

    def login(user, *, enforce_csrf_checks: bool = False) -> Client:
        # Pages follow the browser's language; these tests read English messages.
        client = Client(enforce_csrf_checks=enforce_csrf_checks, headers={"accept-language": "en"})
        if user is not None:
            client.force_login(user)
        return client

    return login


@pytest.fixture
def drafter(db, django_user_model):
    return make_user(django_user_model, "drafter", Role.DRAFTER)


@pytest.fixture
def reviewer(db, django_user_model):
    return make_user(django_user_model, "reviewer", Role.REVIEWER)


@pytest.fixture
def reviewer2(db, django_user_model):
    return make_user(django_user_model, "reviewer2", Role.REVIEWER)


@pytest.fixture
def auditor(db, django_user_model):
    return make_user(django_user_model, "auditor", Role.AUDITOR)


@pytest.fixture
def sender(db):
    return SenderIdentity.objects.create(display_name="市役所 広報課", email="koho@city.example.jp")


# --- A real Celery worker process -----------------------------------------------------


def _test_database_url() -> str:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def worker_environment(esp_server: FakeESP, **overrides) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "MAILGUARD_EMAIL_BACKEND": POSTMARK_BACKEND,
        "ANYMAIL_POSTMARK_SERVER_TOKEN": esp_server.token,
        "ANYMAIL_POSTMARK_API_URL": esp_server.url,
        # Generous: on a loaded 2-core CI machine an answer can take seconds, and a timeout
        # rightly makes a delivery "in doubt" (the late-answer fault test sets its own).
        "ANYMAIL_REQUESTS_TIMEOUT": "30",
        "MAILGUARD_HOLD_SECONDS": "0",
        "MAILGUARD_SEND_RETRY_BASE_SECONDS": "0",
        "MAILGUARD_SEND_MAX_ATTEMPTS": "10",
        "PYTHONUNBUFFERED": "1",
        # Notifications go to the .eml outbox the tests read, never into the fake ESP's campaign mail.
        "MAILGUARD_SYSTEM_EMAIL_BACKEND": "approvals.delivery.outbox.OutboxEmailBackend",
        "MAILGUARD_OUTBOX_DIR": str(django_settings.MAILGUARD_OUTBOX_DIR),
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return env


class WorkerProcess:
    """``celery worker`` in its own process; ``ready`` once it logs that it consumes."""

    def __init__(self, env: dict[str, str], log_path: Path, concurrency: int = 2):
        self.log_path = log_path
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "mailguard", "worker", "--loglevel=INFO",
             f"--concurrency={concurrency}", "--pool=prefork", "--without-heartbeat",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True,  # its own process group, so a test can SIGKILL it with its children
        )
        self._ready = threading.Event()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        with self.log_path.open("a") as log:
            for line in self.process.stdout:
                log.write(line)
                log.flush()
                if " ready." in line:
                    self._ready.set()

    def wait_ready(self, timeout: float = 60) -> None:
        if not self._ready.wait(timeout):
            self.stop()
            raise RuntimeError(f"Celery worker did not start; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once: no cleanup, as in a crash."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _purge_broker() -> None:
    """Forget tasks left in the broker by an earlier run (Redis keeps them between runs)."""
    from mailguard.celery import app

    app.control.purge()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker, fake_esp_server, tmp_path_factory):
    """One worker for the whole session, started after the test database exists."""
    _purge_broker()
    log_path = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = WorkerProcess(worker_environment(fake_esp_server), log_path)
    worker.wait_ready()
    yield worker
    worker.stop()


@pytest.fixture
def spawn_worker(transactional_db, fake_esp_server, tmp_path):
    """Start extra workers with their own settings; each is stopped (or was killed) at the end."""
    started = []

    def spawn(concurrency: int = 2, **env_overrides) -> WorkerProcess:
        log_path = tmp_path / f"worker-{len(started)}.log"
        worker = WorkerProcess(worker_environment(fake_esp_server, **env_overrides), log_path, concurrency)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield spawn
    for worker in started:
        worker.stop()


@pytest.fixture
def worker(celery_worker_process, transactional_db, esp):
    """A running worker, a committed-data test database and a clean fake ESP."""
    return celery_worker_process


def wait_for(predicate, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    """Poll until predicate() is truthy; the tests never assert on how long it took."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {message}")


@contextlib.contextmanager
def audit_trigger_disabled(db_connection=None):
    """Let a test tamper with the audit log as someone with full rights on the database could.

    On PostgreSQL, ``session_replication_role = replica`` stops ordinary triggers, the
    append-only one included, for this transaction only (the test's transaction is
    rolled back in any case). On SQLite the triggers are dropped and created again
    from their own stored definition (DDL is transactional there too).
    """
    db_connection = db_connection or connection
    with db_connection.cursor() as cursor:
        if db_connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
            try:
                yield
            finally:
                cursor.execute("SET LOCAL session_replication_role = DEFAULT")
            return
        cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                       "AND tbl_name = 'approvals_auditevent'")
        triggers = cursor.fetchall()
        for name, _sql in triggers:
            cursor.execute(f'DROP TRIGGER "{name}"')
        try:
            yield
        finally:
            for _name, sql in triggers:
                cursor.execute(sql)


@pytest.fixture(scope="session", autouse=True)
def _flush_may_empty_the_audit_log():
    """After a transactional test Django empties every table. PostgreSQL does it with TRUNCATE,
    which the append-only trigger lets through (as it must for an administrator's reset);
    SQLite deletes the rows, so its triggers step aside for the flush and come back after it."""
    if connection.vendor != "sqlite":
        yield
        return
    operations = type(connection.ops)
    original = operations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        with audit_trigger_disabled(self.connection):
            original(self, sql_list)

    operations.execute_sql_flush = execute_sql_flush
    yield
    operations.execute_sql_flush = original


@pytest.fixture(autouse=True)
def _own_audit_checkpoints(settings, tmp_path):
    """Each test's database starts empty, so each test keeps its own checkpoint file."""
    settings.MAILGUARD_AUDIT_CHECKPOINT_FILE = tmp_path / "audit-checkpoints.jsonl"


@pytest.fixture
def db_vendor(db) -> str:
    return connection.vendor


# --- Headless Chromium (Debian's), driven by Playwright against the live test server ---------

CHROMIUM = os.environ.get("MAILGUARD_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: bin/test installs Debian's chromium package")
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls
    # are still synchronous, so Django's async-safety guard must let them through.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser, live_server):
    """Open a fresh browser context (its own cookies) per call: one per person."""
    contexts = []

    def open_page(locale: str = "ja-JP"):
        context = browser.new_context(base_url=live_server.url, locale=locale, accept_downloads=True)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, username: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#current-user")
