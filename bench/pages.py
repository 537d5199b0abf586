"""Page speed at a million deliveries: every page of every role, on PostgreSQL.

    .venv/bin/python bench/pages.py                      # 100 campaigns x 10,000 recipients
    .venv/bin/python bench/pages.py --campaigns 10 --recipients 1000   # quicker
    .venv/bin/python bench/pages.py --reuse              # measure again without seeding

It (re)creates the database named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/mailguard_pages_bench), migrates it and seeds a
year of an office's mail: ``--campaigns`` finished campaigns of ``--recipients``
recipients each, drawn from one membership list three times that size (so an
address appears in many campaigns), with their whole ledger (sent, failed, in
doubt, cancelled, ESP tracking events: delivered, bounced, complained), audit
chain, reviews and review evidence, written with COPY; and, a year ago, one more
campaign of ``--large`` recipients (100,000), whose pages are timed too, to show
what grows with a campaign's size and what does not. Then, through the real
workflow, one campaign in review and one draft of the same size, so the
reviewer's and the drafter's pages work on a real list and real findings.

Each page is requested through Django's test Client (the whole middleware stack,
templates included) after two warm-up requests; the table shows the median and
the slowest of ``--repeat`` requests and the number of SQL queries. Streamed
exports are read to the end inside the timing. Then the peak Python memory
(tracemalloc) of each CSV export, read after each quarter of it: a flat export
has the same peak after the first quarter as at the end.

It prints figures and asserts none; a page that runs into the statement timeout
(``--timeout``, 30 s) is reported as such and the run goes on.
"""

import argparse
import io
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DB_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailguard_pages_bench")
TARGET_MS = 300
LARGE_NAME = "会報 大規模号"

FAMILY = ["佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田", "山田", "佐々木",
          "山口", "松本", "井上", "木村", "林", "斎藤", "清水", "山崎", "森", "池田", "橋本", "阿部", "石川"]
GIVEN = ["太郎", "花子", "一郎", "美咲", "健太", "さくら", "大輔", "陽菜", "翔", "結衣", "直樹", "千尋"]
DOMAINS = ["example.com", "example.jp", "mail.example.ne.jp", "city.example.lg.jp", "example.co.jp",
           "example.org", "univ.example.ac.jp", "example.net"]
SUBJECT = "{{氏名}} 様 会報のお知らせ"
BODY = "{{氏名}} 様\n\n会員番号 {{会員番号}} の皆様へ、会報をお届けします。\n添付の PDF をご覧ください。\n"
COLUMNS = ["氏名", "メールアドレス", "会員番号"]


def configure(var_dir: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "mailguard.settings",
        "DATABASE_URL": DB_URL,
        "MAILGUARD_VAR_DIR": var_dir,
        "MAILGUARD_LOG_LEVEL": "ERROR",
        "MAILGUARD_REQUIRE_2FA": "0",
        "CELERY_BROKER_URL": "memory://",
    })
    import logging

    import django

    django.setup()
    # A page that runs into the statement timeout is reported in the table, not as a traceback.
    logging.getLogger("django.request").setLevel(logging.CRITICAL)


def fresh_database() -> None:
    import psycopg

    base, name = DB_URL.rsplit("/", 1)
    with psycopg.connect(base + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- Seeding ------------------------------------------------------------------------------


class Members:
    """One membership list; campaign k mails a window of it, so addresses recur across campaigns."""

    def __init__(self, size: int):
        rng = random.Random(11)
        self.rows = []
        for i in range(size):
            local = f"member{i:06d}"
            if i % 50 == 7:  # some addresses were typed with capitals, and are kept as typed
                local = f"Member{i:06d}"
            name = f"{rng.choice(FAMILY)} {rng.choice(GIVEN)}"
            self.rows.append((f"{local}@{DOMAINS[i % len(DOMAINS)]}", name, f"M{i + 1:07d}"))

    def window(self, start: int, count: int):
        size = len(self.rows)
        for offset in range(count):
            yield self.rows[(start + offset) % size]


def _copy(table: str, columns: list[str], rows) -> int:
    from django.db import connection

    connection.ensure_connection()
    count = 0
    with connection.connection.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _next_id(model) -> int:
    from django.db.models import Max

    return (model.objects.aggregate(m=Max("id"))["m"] or 0) + 1


def _reset_sequences(*models) -> None:
    from django.core.management.color import no_style
    from django.db import connection

    with connection.cursor() as cursor:
        for sql in connection.ops.sequence_reset_sql(no_style(), list(models)):
            cursor.execute(sql)


OUTCOMES = [  # (state, share of campaigns)
    ("sent", 0.60), ("partly_failed", 0.33), ("cancelled", 0.03), ("paused", 0.02), ("sending", 0.02)]


def _plan(campaigns: int) -> list[str]:
    states = []
    for state, share in OUTCOMES:
        states += [state] * max(1, round(campaigns * share))
    states = states[:campaigns]
    while len(states) < campaigns:
        states.append("sent")
    random.Random(3).shuffle(states)
    return states


def _delivery_outcome(rng: random.Random, state: str, index: int, count: int) -> str:
    """The status of the index-th delivery of a campaign that ended in ``state``."""
    if state == "sending":
        return "sent" if index < count // 2 else ("sending" if index < count // 2 + 50 else "pending")
    if state == "paused" and index >= count // 3:
        return "pending"
    if state == "cancelled" and index >= count // 4:
        return "cancelled"
    if state == "partly_failed":
        roll = rng.random()
        if roll < 0.012:
            return "failed"
        if roll < 0.0135:
            return "in_doubt"
    return "sent"


def seed_history(campaigns: int, recipients: int, large: int, users: dict, sender, findings: list) -> list[int]:
    """``campaigns`` finished campaigns of ``recipients`` each over the last year, and first one of ``large``."""
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from approvals.content_hash import compute_content_hash
    from approvals.models import Attachment, Campaign, Contributor, Delivery, Recipient, Review, ReviewActivity
    from tests.samples import NEWSLETTER_PDF

    members = Members(max(recipients * 3, large))
    rng = random.Random(2024)
    now = timezone.now().replace(microsecond=0)
    plan = [(state, recipients) for state in _plan(campaigns)]
    if large:
        plan.insert(0, ("sent", large))
    ids = []
    recipient_id, delivery_id = _next_id(Recipient), _next_id(Delivery)
    attachment_sha = __import__("hashlib").sha256(NEWSLETTER_PDF).hexdigest()
    for k, (state, size) in enumerate(plan):
        started = time.perf_counter()
        created = now - timedelta(days=365 * (len(plan) - k) / len(plan), hours=3)
        drafter = users["drafters"][k % len(users["drafters"])]
        reviewer = users["reviewers"][k % len(users["reviewers"])]
        campaign = Campaign.objects.create(
            name=LARGE_NAME if large and k == 0 else f"会報 第{k + 1}号", drafter=drafter, state=state,
            sender=sender, subject=SUBJECT, body_text=BODY,
            list_filename=f"会員名簿-{k + 1}.csv", list_sha256=uuid.uuid4().hex * 2, columns=COLUMNS,
            address_column="メールアドレス", name_column="氏名", findings=findings,
        )
        Contributor.objects.create(campaign=campaign, user=drafter)
        attachment = Attachment(campaign=campaign, filename="会報.pdf", content_type="application/pdf",
                                size=len(NEWSLETTER_PDF), sha256=attachment_sha)
        attachment.file.save("kaiho.pdf", ContentFile(NEWSLETTER_PDF), save=False)
        attachment.save()

        window = list(members.window(k * recipients // 2, size))
        first_recipient = recipient_id
        _copy("approvals_recipient", ["id", "campaign_id", "row_number", "email", "display_name", "data"], (
            (first_recipient + i, campaign.pk, i + 2, email, name,
             json.dumps({"氏名": name, "メールアドレス": email, "会員番号": number}, ensure_ascii=False))
            for i, (email, name, number) in enumerate(window)))
        recipient_id += len(window)

        content_hash = compute_content_hash(campaign)
        approved = created + timedelta(days=1)
        sending = approved + timedelta(minutes=10)
        finished = None if state in ("sending", "paused") else sending + timedelta(seconds=size / 50 + 5)
        statuses = [_delivery_outcome(rng, state, i, size) for i in range(size)]
        _copy("approvals_delivery", [
            "id", "campaign_id", "recipient_id", "email", "status", "message_id", "esp_message_id", "error",
            "attempts", "claim_token", "claimed_at", "sent_at", "tracking_status", "tracking_detail", "tracking_at",
            "updated_at"], (_delivery_row(rng, delivery_id + i, campaign.pk, first_recipient + i, email, status,
                                           sending + timedelta(seconds=i / 50))
                            for i, ((email, _name, _number), status) in enumerate(zip(window, statuses, strict=True))))
        delivery_id += size

        Campaign.objects.filter(pk=campaign.pk).update(
            created_at=created, updated_at=finished or sending, submitted_hash=content_hash,
            approved_hash=content_hash, approved_by=reviewer, approved_at=approved, send_after=sending,
            sending_started_at=sending, finished_at=finished,
            pause_reason="送信を一時停止しました（確認のため）" if state == "paused" else "")
        Review.objects.create(campaign=campaign, reviewer=reviewer, decision="approved", content_hash=content_hash,
                              comment="確認しました。")
        previews = [first_recipient, first_recipient + size - 1, first_recipient + size // 2]
        ReviewActivity.objects.bulk_create(
            [ReviewActivity(campaign=campaign, reviewer=reviewer, content_hash=content_hash, kind="preview",
                            object_id=pk) for pk in previews]
            + [ReviewActivity(campaign=campaign, reviewer=reviewer, content_hash=content_hash, kind="attachment",
                              object_id=attachment.pk)])
        _seed_events(campaign, state, created, approved, sending, finished, drafter, reviewer, content_hash,
                     statuses, size)
        ids.append(campaign.pk)
        print(f"  seeded campaign {k + 1}/{len(plan)} ({state}, {size} recipients) "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
    _reset_sequences(Recipient, Delivery)
    return ids


def _delivery_row(rng, pk, campaign_id, recipient_id, email, status, at):
    sent_at = at if status == "sent" else None
    error, tracking, detail, tracking_at = "", "", "", None
    if status == "failed":
        error = rng.choice(["Inactive recipient", "Invalid 'To' address", "ESP refused: mailbox unavailable"])
    elif status == "in_doubt":
        error = "The ESP did not answer in time; check before resending."
    elif status == "sent":
        roll = rng.random()
        if roll < 0.93:
            tracking, tracking_at = "delivered", at + timedelta(seconds=3)
        elif roll < 0.94:
            tracking, detail, tracking_at = "bounced", "550 5.1.1 user unknown", at + timedelta(minutes=2)
        elif roll < 0.9405:
            tracking, tracking_at = "complained", at + timedelta(days=1)
    claimed = status in ("sent", "failed", "in_doubt", "sending")
    return (pk, campaign_id, recipient_id, email, status, f"<{uuid.uuid4().hex}@mailguard.invalid>",
            uuid.uuid4().hex if sent_at else "", error, 1 if claimed else 0,
            uuid.uuid4().hex if claimed else "", at if claimed else None, sent_at, tracking, detail, tracking_at,
            tracking_at or at)


_chain = {"prev": None}


def _seed_events(campaign, state, created, approved, sending, finished, drafter, reviewer, content_hash,
                 statuses, recipients) -> None:
    from collections import Counter

    counts = dict(Counter(statuses))
    events = [
        (created, drafter, "created", "", {"name": campaign.name}),
        (created + timedelta(minutes=2), drafter, "list_uploaded", "",
         {"filename": campaign.list_filename, "rows": recipients, "columns": COLUMNS, "encoding": "cp932"}),
        (created + timedelta(minutes=5), drafter, "edited", "", {"fields": ["sender", "subject", "body_text"]}),
        (created + timedelta(minutes=6), drafter, "attachment_added", "", {"filename": "会報.pdf"}),
        (created + timedelta(minutes=8), drafter, "submitted", content_hash, {"recipients": recipients}),
        (approved, reviewer, "approved", content_hash, {"recipients": recipients, "comment": "確認しました。"}),
        (sending, None, "sending_started", content_hash, {}),
    ]
    end = finished or sending + timedelta(minutes=1)
    if state in ("sent", "partly_failed"):
        events.append((end, None, "sending_finished", content_hash, counts))
    elif state == "cancelled":
        events.append((end, drafter, "cancelled", "", {"reason": "宛先リストの版が古いことが分かったため",
                                                      "stopped": counts.get("cancelled", 0)}))
    elif state == "paused":
        events.append((end, reviewer, "paused", "", {"reason": "送信を一時停止しました（確認のため）"}))
    bounced = statuses.count("failed")
    for i in range(min(bounced, 20)):  # hard bounces that joined the suppression list
        events.append((end + timedelta(seconds=i), None, "address_suppressed", "", {"reason": "bounced"}))
    _append_events(campaign, events)


def _append_events(campaign, events) -> None:
    from approvals import audit
    from approvals.models import AuditEvent

    if _chain["prev"] is None:
        _chain["prev"] = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first() or \
            audit.GENESIS_HASH
    rows = []
    for at, actor, action, content_hash, details in events:
        event = AuditEvent(created_at=at, actor=actor, actor_name=actor.get_username() if actor else "system",
                           action=action, campaign=campaign, content_hash=content_hash,
                           details=json.loads(json.dumps(details, default=str)), prev_hash=_chain["prev"],
                           scheme=audit.Scheme.HMAC_SHA256)
        event.hash = audit._event_hash(event.prev_hash, audit._hashed_fields(event), event.scheme)
        _chain["prev"] = event.hash
        rows.append(event)
    AuditEvent.objects.bulk_create(rows)


def seed_users() -> dict:
    from django.contrib.auth import get_user_model

    from approvals.management.commands.seed_demo import ensure_groups
    from approvals.models import UserProfile
    from approvals.roles import Role

    groups = ensure_groups()
    users = get_user_model().objects

    def make(name: str, role: Role):
        user = users.create_user(name, f"{name}@city.example.jp", "bench-" + name)
        user.groups.set([groups[role]])
        # New accounts start in trial mode (internal addresses only); the bench's people send to members.
        UserProfile.objects.filter(user=user).update(trial_mode=False)
        return user

    return {
        "drafters": [make(f"drafter{i}", Role.DRAFTER) for i in range(1, 4)],
        "reviewers": [make(f"reviewer{i}", Role.REVIEWER) for i in range(1, 3)],
        "auditor": make("auditor", Role.AUDITOR),
    }


def member_csv(members: Members, start: int, count: int) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows((name, email, number) for email, name, number in members.window(start, count))
    return buffer.getvalue().encode("cp932")


def seed_live(recipients: int, users: dict, sender) -> tuple[int, int]:
    """One campaign in review and one draft, through the real upload, edit, attach and submit."""
    from django.conf import settings

    from approvals import workflow
    from approvals.intake.lists import read_recipient_list
    from tests.samples import NEWSLETTER_PDF

    members = Members(recipients * 3)
    made = []
    for name in ("会報 審査中の号", "会報 作成中の号"):
        drafter = users["drafters"][0]
        campaign = workflow.create_campaign(drafter, name)
        table = read_recipient_list("会員名簿.csv", member_csv(members, len(made) * recipients, recipients),
                                    max_bytes=settings.MAILGUARD["MAX_LIST_BYTES"],
                                    max_rows=settings.MAILGUARD["MAX_RECIPIENTS"])
        workflow.replace_recipient_list(campaign, drafter, "会員名簿.csv", table)
        campaign.refresh_from_db()
        workflow.update_message(campaign, drafter, sender=sender, recipient_mode="individual", subject=SUBJECT,
                                body_text=BODY, body_html="")
        workflow.add_attachment(campaign, drafter, "会報.pdf", NEWSLETTER_PDF, "application/pdf")
        made.append(campaign)
    started = time.perf_counter()
    try:
        workflow.submit(made[0], users["drafters"][0])
    except workflow.SubmissionBlocked as blocked:
        raise SystemExit(f"the list was refused: {[f.message for f in blocked.findings]}") from blocked
    print(f"  submitted the campaign in review (preflight over {recipients} rows: "
          f"{time.perf_counter() - started:.1f} s)", flush=True)
    return made[0].pk, made[1].pk


def seed(campaigns: int, recipients: int, large: int) -> None:
    from django.core.management import call_command

    from approvals.models import Campaign, SenderIdentity

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    users = seed_users()
    sender = SenderIdentity.objects.create(display_name="市役所 広報課", email="koho@city.example.jp")
    review_pk, draft_pk = seed_live(recipients, users, sender)
    findings = Campaign.objects.get(pk=review_pk).findings
    seed_history(campaigns, recipients, large, users, sender, findings)
    _after_bulk_load()
    print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)


def _after_bulk_load() -> None:
    """What an application that wrote rows one by one would have: counters and fresh statistics."""
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("rebuild_delivery_counts", verbosity=0)
    except Exception as err:  # noqa: BLE001 - the command does not exist before the counters
        print(f"  (no delivery counters to rebuild: {err})")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


# --- Measuring ----------------------------------------------------------------------------


def _set_statement_timeout(seconds: int) -> None:
    from django.db import connections

    options = connections["default"].settings_dict.setdefault("OPTIONS", {})
    options["options"] = f"-c statement_timeout={seconds * 1000}"
    connections["default"].close()  # the next connection carries the timeout


def _client(user):
    from django.test import Client

    client = Client(headers={"accept-language": "ja"})
    client.force_login(user)
    return client


def _fetch(client, url: str) -> tuple[int, int]:
    response = client.get(url)
    if response.streaming:
        size = sum(len(chunk) for chunk in response.streaming_content)
    else:
        size = len(response.content)
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    return size, response.status_code


def time_page(client, url: str, repeat: int) -> dict:
    from django.db import OperationalError, connection
    from django.test.utils import CaptureQueriesContext

    try:
        for _ in range(2):
            _fetch(client, url)
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            _fetch(client, url)
            times.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as queries:
            size, _status = _fetch(client, url)
    except OperationalError as err:
        connection.close()
        return {"error": str(err).splitlines()[0]}
    return {"median": statistics.median(times), "max": max(times), "queries": len(queries), "bytes": size}


def export_memory(client, url: str) -> dict:
    """Peak traced memory while the export streams, read after each quarter of it: flat means equal."""
    response = client.get(url)
    if not response.streaming:
        tracemalloc.start()
        body = client.get(url).content
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return {"bytes": len(body), "quarters": [peak] * 4, "streamed": False}
    total = sum(len(chunk) for chunk in response.streaming_content)
    tracemalloc.start()
    response = client.get(url)
    seen, quarters = 0, []
    for chunk in response.streaming_content:
        seen += len(chunk)
        while len(quarters) < 3 and seen >= total * (len(quarters) + 1) / 4:
            quarters.append(tracemalloc.get_traced_memory()[1])
    quarters.append(tracemalloc.get_traced_memory()[1])
    tracemalloc.stop()
    return {"bytes": seen, "quarters": quarters, "streamed": True}


def pages(recipients: int) -> list[tuple[str, str, str]]:
    """(role, page, url) for every page, on campaigns picked like a person would."""
    from django.urls import reverse

    from approvals.models import Campaign

    finished = Campaign.objects.filter(state="partly_failed").order_by("-created_at").first() or \
        Campaign.objects.filter(state="sent").order_by("-created_at").first()
    in_review = Campaign.objects.get(state="in_review")
    draft = Campaign.objects.get(state="draft")
    address = finished.recipients.order_by("row_number").values_list("email", flat=True)[recipients // 2]
    last_row = in_review.recipients.order_by("-row_number").values_list("row_number", flat=True).first()
    f, r = finished.pk, in_review.pk
    last_ledger_page = (finished.deliveries.count() + 99) // 100
    return [
        ("auditor", "auditor list", reverse("audit_campaigns")),
        ("auditor", "auditor list, filtered by domain", reverse("audit_campaigns") + "?domain=example.co.jp"),
        ("auditor", "auditor list, page 2", reverse("audit_campaigns") + "?page=2"),
        ("auditor", "dashboard", reverse("audit_dashboard")),
        ("auditor", "campaign (audit, ledger page 1)", reverse("audit_campaign", args=[f])),
        ("auditor", "campaign (audit, last ledger page)",
         reverse("audit_campaign", args=[f]) + f"?page={last_ledger_page}"),
        ("auditor", "campaign (audit, failed only)", reverse("audit_campaign", args=[f]) + "?status=failed"),
        ("auditor", "campaign (audit, address search)",
         reverse("audit_campaign", args=[f]) + "?q=" + address.split("@")[0]),
        ("auditor", "campaign status page", reverse("campaign_detail", args=[f])),
        ("auditor", "address history", reverse("audit_address") + "?email=" + address.upper()),
        ("auditor", "approved version", reverse("audit_approved_version", args=[f])),
        ("auditor", "incident report", reverse("audit_incident_report", args=[f])),
        ("auditor", "incident report CSV", reverse("audit_incident_report_csv", args=[f])),
        ("auditor", "incident report JSON", reverse("audit_incident_report_json", args=[f])),
        ("auditor", "CSV export (ledger)", reverse("audit_deliveries_csv", args=[f])),
        ("reviewer", "review queue", reverse("review_queue")),
        ("reviewer", "review page (first recipient)", reverse("review", args=[r])),
        ("reviewer", "review page (last recipient)", reverse("review", args=[r]) + f"?page={recipients}"),
        ("reviewer", "review search (address)", reverse("review", args=[r]) + "?q=member0"),
        ("reviewer", "review search (row number)", reverse("review", args=[r]) + f"?q={last_row}"),
        ("reviewer", "campaign status page (sending progress)", reverse("campaign_progress", args=[f])),
        ("drafter", "campaign list", reverse("campaign_list")),
        ("drafter", "edit page", reverse("campaign_edit", args=[draft.pk])),
        ("drafter", "campaign status page", reverse("campaign_detail", args=[draft.pk])),
        *_large_campaign_pages(),
    ]


def _large_campaign_pages() -> list[tuple[str, str, str]]:
    """The same pages on the one campaign ten times the size: what grows with a campaign and what does not."""
    from django.urls import reverse

    from approvals.models import Campaign

    large = Campaign.objects.filter(name=LARGE_NAME).first()
    if large is None:
        return []
    n, pk = large.recipients.count(), large.pk
    tag = f"{n:,}-recipient campaign"
    return [
        ("auditor", f"campaign (audit), {tag}", reverse("audit_campaign", args=[pk])),
        ("auditor", f"campaign (audit, last page), {tag}",
         reverse("audit_campaign", args=[pk]) + f"?page={(n + 99) // 100}"),
        ("auditor", f"campaign status page, {tag}", reverse("campaign_detail", args=[pk])),
        ("auditor", f"incident report, {tag}", reverse("audit_incident_report", args=[pk])),
        ("auditor", f"approved version, {tag}", reverse("audit_approved_version", args=[pk])),
        ("auditor", f"CSV export (ledger), {tag}", reverse("audit_deliveries_csv", args=[pk])),
    ]


def measure(recipients: int, repeat: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db.models import Count

    from approvals.models import AuditEvent, Campaign, Delivery, Recipient

    users = get_user_model().objects
    clients = {"auditor": _client(users.get(username="auditor")),
               "reviewer": _client(users.get(username="reviewer2")),
               "drafter": _client(users.get(username="drafter1"))}
    print(f"\ndatabase: {Campaign.objects.count()} campaigns, {Recipient.objects.count():,} recipients, "
          f"{Delivery.objects.count():,} ledger rows, {AuditEvent.objects.count():,} audit events")
    by_status = dict(Delivery.objects.order_by().values_list("status").annotate(n=Count("id")))
    print("ledger: " + ", ".join(f"{status} {n:,}" for status, n in sorted(by_status.items())))
    print(f"\n{'role':9} {'page':56} {'median ms':>10} {'max ms':>8} {'queries':>8} {'KB':>8}")
    over = []
    for role, name, url in pages(recipients):
        result = time_page(clients[role], url, repeat)
        if "error" in result:
            print(f"{role:9} {name:56} {'—':>10} {'—':>8} {'—':>8} {'—':>8}  {result['error']}")
            over.append(name)
            continue
        flag = "" if result["median"] < TARGET_MS else f"  over {TARGET_MS} ms"
        if flag:
            over.append(name)
        print(f"{role:9} {name:56} {result['median']:10.1f} {result['max']:8.1f} {result['queries']:8d} "
              f"{result['bytes'] / 1024:8.0f}{flag}", flush=True)
    print()
    for role, name, url in pages(recipients):
        if "CSV" not in name:
            continue
        memory = export_memory(clients[role], url)
        how = "streamed" if memory["streamed"] else "built in memory"
        quarters = " / ".join(f"{peak / 1_048_576:.2f}" for peak in memory["quarters"])
        print(f"peak memory of {name}: {memory['quarters'][-1] / 1_048_576:.2f} MB for "
              f"{memory['bytes'] / 1_048_576:.2f} MB of CSV ({how}; peak after each quarter: {quarters} MB)")
    print(f"\npages at or over {TARGET_MS} ms median: {', '.join(over) if over else 'none'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000,
                        help="one more finished campaign of this size, to compare with (0: none)")
    parser.add_argument("--repeat", type=int, default=9, help="timed requests per page (median of these)")
    parser.add_argument("--timeout", type=int, default=30, help="statement timeout in seconds")
    parser.add_argument("--reuse", action="store_true", help="measure the database seeded by an earlier run")
    args = parser.parse_args()
    # Uploaded files live next to the database they belong to, so --reuse finds them again.
    var_dir = Path(tempfile.gettempdir()) / f"mailguard-pages-{DB_URL.rsplit('/', 1)[-1]}"
    if not args.reuse:
        shutil.rmtree(var_dir, ignore_errors=True)
    var_dir.mkdir(parents=True, exist_ok=True)
    configure(str(var_dir))
    if args.reuse:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)  # this branch's indexes and counters on the old rows
    else:
        fresh_database()
        seed(args.campaigns, args.recipients, args.large)
    from django.test.utils import setup_test_environment

    setup_test_environment()  # the test Client's host, an in-memory mail backend
    _set_statement_timeout(args.timeout)
    measure(args.recipients, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
