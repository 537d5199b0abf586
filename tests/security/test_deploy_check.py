"""`manage.py check --deploy` passes on the production settings, with nothing more silenced."""

import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

from .conftest import fresh_environment

ROOT = Path(__file__).resolve().parents[2]

# The only acknowledged deploy warning: X-Frame-Options SAMEORIGIN, for the review page's
# sandboxed HTML preview frame (see mailguard/settings.py).
ACKNOWLEDGED = {"security.W019"}


def test_check_deploy_passes_with_production_settings():
    environment = fresh_environment(
        MAILGUARD_PRODUCTION="1",
        MAILGUARD_SECRET_KEY=secrets.token_urlsafe(50),
        MAILGUARD_ALLOWED_HOSTS="mailguard.example.jp",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_nothing_else_is_silenced():
    assert set(getattr(settings, "SILENCED_SYSTEM_CHECKS", [])) <= ACKNOWLEDGED
