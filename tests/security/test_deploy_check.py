"""`manage.py check --deploy` passes on the production settings, with nothing more silenced, and
reports an error for each thing production must not run without."""

import subprocess
import sys
from pathlib import Path

from django.conf import settings

from .conftest import fresh_environment, production_environment

ROOT = Path(__file__).resolve().parents[2]

# The only acknowledged deploy warning: X-Frame-Options SAMEORIGIN, for the review page's
# sandboxed HTML preview frame (see mailguard/settings.py).
ACKNOWLEDGED = {"security.W019"}


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=fresh_environment(**environment), capture_output=True, text=True, timeout=120,
    )


def test_check_deploy_passes_with_production_settings():
    result = check_deploy(production_environment())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_check_deploy_reports_an_error_without_a_webhook_secret():
    environment = production_environment()
    del environment["ANYMAIL_WEBHOOK_SECRET"]
    result = check_deploy(environment)
    assert result.returncode != 0
    assert "mailguard.E001" in result.stderr and "ANYMAIL_WEBHOOK_SECRET" in result.stderr


def test_check_deploy_reports_an_error_for_a_short_audit_key():
    result = check_deploy(production_environment(MAILGUARD_AUDIT_KEY="short"))
    assert result.returncode != 0 and "mailguard.E002" in result.stderr


def test_nothing_else_is_silenced():
    assert set(getattr(settings, "SILENCED_SYSTEM_CHECKS", [])) <= ACKNOWLEDGED
