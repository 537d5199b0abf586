"""Fixtures for the auditor's pages: signed-in clients, sending inline."""

import pytest

from approvals.roles import Role
from tests.conftest import make_user


@pytest.fixture
def drafter2(db, django_user_model):
    return make_user(django_user_model, "drafter2", Role.DRAFTER)


SENSITIVE_CODE = "pii.test_health_data"


@pytest.fixture
def sensitive_check(monkeypatch):
    """A preflight check that flags row 2 as sensitive for the reviewer to acknowledge.

    It stands in for the preflight's personal-data checks, so these tests do not depend on
    which of them are switched on; the finding still travels the real path (stored at
    submission, ticked by the reviewer, recorded in the approving review).
    """
    from approvals import guards
    from approvals.guards import Finding, Severity

    def flag_row_two(ctx):
        if len(ctx.rows) > 1:
            yield Finding(SENSITIVE_CODE, Severity.ACKNOWLEDGE, {"what": "health data"},
                          rows=(ctx.rows[1].row_number,))

    monkeypatch.setattr(guards, "CHECKS", [*guards.CHECKS, flag_row_two])
    return SENSITIVE_CODE
