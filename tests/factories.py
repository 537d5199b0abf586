"""Build campaigns through the real workflow, from real list bytes (no shortcuts past the checks)."""

import csv
import io

from django.conf import settings

from approvals import guards, review_evidence, workflow
from approvals.intake.lists import read_recipient_list
from approvals.models import ReviewActivity


def csv_bytes(rows: list[dict[str, str]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0].keys()), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode(encoding)


def members(count: int, domain: str = "example.com") -> list[dict[str, str]]:
    family = ["山田", "佐藤", "鈴木", "髙橋", "田中", "伊藤", "渡辺", "中村"]
    given = ["太郎", "花子", "一郎", "美咲", "健太", "さくら"]
    return [
        {"氏名": f"{family[i % len(family)]} {given[i % len(given)]}{i}",
         "メールアドレス": f"member{i:05d}@{domain}", "会員番号": f"M{i:06d}"}
        for i in range(count)
    ]


def upload_list(campaign, user, rows, filename: str = "members.csv", encoding: str = "utf-8"):
    limits = settings.MAILGUARD
    table = read_recipient_list(filename, csv_bytes(rows, encoding),
                                max_bytes=limits["MAX_LIST_BYTES"], max_rows=limits["MAX_RECIPIENTS"])
    workflow.replace_recipient_list(campaign, user, filename, table)
    campaign.refresh_from_db()
    return campaign


def draft_campaign(drafter, sender, rows, *, subject="{{氏名}} 様へのお知らせ",
                   body="{{氏名}} 様\n会員番号 {{会員番号}} の皆様へ。", html="",
                   mode="individual", attachments=(), name="お知らせ"):
    campaign = workflow.create_campaign(drafter, name)
    upload_list(campaign, drafter, rows)
    workflow.update_message(campaign, drafter, sender=sender, recipient_mode=mode,
                            subject=subject, body_text=body, body_html=html)
    for filename, data, content_type in attachments:
        workflow.add_attachment(campaign, drafter, filename, data, content_type)
    campaign.refresh_from_db()
    return campaign


def submitted_campaign(drafter, sender, rows, **kwargs):
    campaign = draft_campaign(drafter, sender, rows, **kwargs)
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    return campaign


def review_everything(campaign, reviewer) -> list[str]:
    """Record what the review views record when a reviewer opens every required preview and
    attachment; returns the keys of every finding to acknowledge."""
    for recipient_id in review_evidence.required_recipient_ids(campaign):
        review_evidence.record_opened(campaign, reviewer, ReviewActivity.Kind.PREVIEW, recipient_id)
    for attachment in campaign.attachments.all():
        review_evidence.record_opened(campaign, reviewer, ReviewActivity.Kind.ATTACHMENT, attachment.pk)
    return [f["key"] for f in guards.needing_acknowledgement(campaign.findings)]


def approve_after_review(campaign, reviewer):
    acknowledged = review_everything(campaign, reviewer)
    workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=acknowledged)
    campaign.refresh_from_db()
    return campaign


def approved_campaign(drafter, reviewer, sender, rows, **kwargs):
    return approve_after_review(submitted_campaign(drafter, sender, rows, **kwargs), reviewer)


def send_all(campaign_id: int) -> None:
    """What the Celery tasks do, run inline: start, then batches until none is due."""
    from approvals.delivery import engine

    assert engine.start(campaign_id)
    while engine.send_batch(campaign_id).again_in == 0:
        pass
