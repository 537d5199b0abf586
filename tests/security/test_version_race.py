"""One version, locked (issue 9, finding 1): edits of every kind race submit and approve.

Each round starts a clean draft, then runs ``workflow.submit`` and one edit at the
same moment in two threads, each with its own database connection (so this test
commits for real: ``transaction=True``), the edit a few milliseconds early or late.
Whatever the order, a campaign in review must carry the hash of exactly the content
it has and the findings of exactly that content. Campaigns that reached review are
then approved while an administrator edits the sender identity.

Runs on PostgreSQL (row locks, READ COMMITTED) and SQLite (write transactions begun
IMMEDIATE) alike. MAILGUARD_RACE_ROUNDS sets the rounds per kind of edit.
"""

import os
import random
import threading

import pytest
from django.db import connection
from django.utils import translation

from approvals import guards, workflow
from approvals.content_hash import compute_content_hash, message_digest
from approvals.models import AuditEvent, Campaign, SenderIdentity
from tests.factories import csv_bytes, draft_campaign, members, review_everything, upload_list

pytestmark = pytest.mark.django_db(transaction=True)

ROUNDS = int(os.environ.get("MAILGUARD_RACE_ROUNDS", "8"))
State = Campaign.State


@pytest.fixture(autouse=True)
def _nothing_leaves(settings):
    """A hold window, and every approved campaign cancelled at the end of its round: a Celery worker
    started by an earlier test must not send these campaigns while later tests run."""
    settings.MAILGUARD = {**settings.MAILGUARD, "HOLD_SECONDS": 3600}


@pytest.fixture
def second_sender(db):
    return SenderIdentity.objects.create(display_name="市役所 総務課", email="somu@city.example.jp")


def edits(second_sender, sender):
    """Each kind of edit a drafter (or an administrator) can make, each one changing the findings."""

    def rename_identity(campaign, user):
        identity = SenderIdentity.objects.get(pk=sender.pk)
        identity.display_name = f"改名 {random.random():.6f}"
        identity.save()

    return {
        "list": lambda c, u: upload_list(c, u, members(4, domain="other.example.org")),
        # The recipient list itself attached (incident 9): a blocking finding once the preflight sees it.
        "attachment": lambda c, u: workflow.add_attachment(c, u, "members.csv", csv_bytes(members(3)), "text/csv"),
        "columns": lambda c, u: workflow.choose_columns(c, u, "会員番号", "氏名"),
        "message": lambda c, u: workflow.update_message(c, u, body_text="{{氏名}} 様 {{住所}}"),
        "mode": lambda c, u: workflow.update_message(c, u, recipient_mode="shared"),
        "sender": lambda c, u: workflow.update_message(c, u, sender=second_sender),
        "identity": rename_identity,
    }


def run_together(*actions) -> list[BaseException | None]:
    """Start the actions at the same moment, each in its own thread and database connection."""
    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)
    language = translation.get_language()

    def run(index, action, delay):
        try:
            barrier.wait()
            if delay:
                threading.Event().wait(delay)
            with translation.override(language):
                action()
        except BaseException as err:  # noqa: BLE001 - reported and judged by the test
            outcomes[index] = err
        finally:
            connection.close()

    rng = random.Random()
    threads = [threading.Thread(target=run, args=(i, action, rng.uniform(0, 0.03)))
               for i, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return outcomes


def expected_failures(outcomes) -> None:
    for outcome in outcomes:
        if outcome is not None and not isinstance(outcome, workflow.WorkflowError):
            raise outcome


def assert_review_holds_exactly_its_version(campaign: Campaign) -> None:
    campaign.refresh_from_db()
    assert campaign.submitted_hash == compute_content_hash(campaign), "the content moved after submission"
    fresh = [f.as_dict() for f in guards.run_preflight(campaign)]
    assert campaign.findings == fresh, "the stored findings belong to another version"
    submitted = AuditEvent.objects.filter(campaign=campaign, action="submitted").latest("id")
    assert submitted.content_hash == campaign.submitted_hash


@pytest.mark.parametrize("kind", ["list", "attachment", "columns", "message", "mode", "sender", "identity"])
def test_no_campaign_reaches_review_with_findings_of_another_version(kind, drafter, reviewer, sender, second_sender):
    edit = edits(second_sender, sender)[kind]
    outcomes_seen = set()
    for _round in range(ROUNDS):
        campaign = draft_campaign(drafter, sender, members(3))
        outcomes = run_together(lambda c=campaign: workflow.submit(Campaign.objects.get(pk=c.pk), drafter),
                                lambda c=campaign: edit(Campaign.objects.get(pk=c.pk), drafter))
        expected_failures(outcomes)
        campaign.refresh_from_db()
        outcomes_seen.add((campaign.state, outcomes[1] is None))
        if campaign.state == State.IN_REVIEW:
            assert_review_holds_exactly_its_version(campaign)
            race_approval_against_an_identity_edit(campaign, reviewer, sender)
        else:
            assert campaign.state == State.DRAFT and not campaign.submitted_hash
    print(f"{kind}: (state, edit applied) seen {sorted(outcomes_seen)}")


def race_approval_against_an_identity_edit(campaign: Campaign, reviewer, sender) -> None:
    acknowledged = review_everything(campaign, reviewer)

    def approve():
        workflow.approve(Campaign.objects.get(pk=campaign.pk), reviewer, campaign.submitted_hash,
                         acknowledged=acknowledged)

    def rename_identity():
        identity = SenderIdentity.objects.get(pk=sender.pk)
        identity.email = f"koho+{random.randrange(10**6)}@city.example.jp"
        identity.save()

    expected_failures(run_together(approve, rename_identity))
    campaign.refresh_from_db()
    # The identity's new address is not part of what was submitted: it neither blocks nor changes the approval.
    assert campaign.state == State.APPROVED
    assert campaign.approved_hash == campaign.submitted_hash == compute_content_hash(campaign)
    assert campaign.approved_message_digest == message_digest(campaign)
    assert campaign.deliveries.count() == campaign.recipients.count()
    workflow.cancel(campaign, reviewer, "race test round over")
