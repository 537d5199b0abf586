"""Every incident class in docs/incidents.md, replayed through the real paths and stopped.

Each test feeds the realistic input (CP932 lists, the list attached as XLSX,
shifted name columns, other members' unsubscribe links…) through the upload,
preflight and review code a person would use, asserts the specific finding, and
that nothing reached the (fake) ESP.
"""

import pytest
from django.conf import settings
from django.urls import reverse

from approvals import workflow
from approvals.delivery import engine
from approvals.intake.lists import read_recipient_list
from approvals.models import Campaign, Delivery, InternalDomain, SenderIdentity, Suppression
from tests.factories import (
    approve_after_review,
    approved_campaign,
    csv_bytes,
    draft_campaign,
    members,
    review_everything,
    submitted_campaign,
)
from tests.samples import NEWSLETTER_PDF, xlsx

State = Campaign.State


def blocked_codes(campaign, user) -> set[str]:
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, user)
    campaign.refresh_from_db()
    assert campaign.state == State.DRAFT
    return {finding.code for finding in blocked.value.findings}


def nothing_reaches_the_esp(campaign, esp) -> None:
    assert not engine.start(campaign.pk)
    assert engine.send_batch(campaign.pk).handled == 0
    assert esp.messages() == []


def cp932_list(rows) -> bytes:
    return csv_bytes(rows, "cp932")


def upload(campaign, user, filename, data) -> None:
    limits = settings.MAILGUARD
    table = read_recipient_list(filename, data, max_bytes=limits["MAX_LIST_BYTES"], max_rows=limits["MAX_RECIPIENTS"])
    workflow.replace_recipient_list(campaign, user, filename, table)
    campaign.refresh_from_db()


def test_incident_02_visible_recipients_944_members_in_to_is_refused(drafter, sender, esp):
    campaign = draft_campaign(drafter, sender, members(1), mode="shared", name="事業終了のお知らせ")
    upload(campaign, drafter, "会員一覧.csv", cp932_list(members(944)))
    assert "mode.shared_refused" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)


def test_incident_03_shared_mode_for_an_external_list_is_refused_even_when_small(drafter, sender, esp):
    InternalDomain.objects.create(domain="center.example.jp")
    campaign = draft_campaign(drafter, sender, members(8, domain="members.example.com"), mode="shared")
    assert "mode.shared_refused" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)


def test_incident_01_a_colleague_cancels_during_the_hold_window_and_nothing_leaves(
        drafter, reviewer, sender, esp, settings):
    settings.MAILGUARD = {**settings.MAILGUARD, "HOLD_SECONDS": 600}
    campaign = approve_after_review(submitted_campaign(drafter, sender, members(60)), reviewer)
    assert campaign.state == State.APPROVED and campaign.send_after > campaign.approved_at
    workflow.cancel(campaign, reviewer, "To に全員のアドレスが入っていないか確認したい")
    nothing_reaches_the_esp(campaign, esp)
    assert campaign.events.filter(action="cancelled").exists()


def test_incident_07_addresses_with_display_names_each_see_only_their_own(drafter, reviewer, sender, esp):
    rows = members(339)
    campaign = approve_after_review(submitted_campaign(drafter, sender, rows, name="シンポジウム"), reviewer)
    engine.start(campaign.pk)
    while engine.send_batch(campaign.pk).again_in == 0:
        pass
    assert len(esp.messages()) == 339
    for message in esp.messages():
        assert len(message.recipients) == 1 and not message.cc and not message.bcc
        others = sum(row["メールアドレス"] in (message.to + message.text_body) for row in rows)
        assert others == 1


def test_incident_08_the_tool_not_the_person_decides_the_headers(drafter, sender, esp):
    """A contractor cannot slip a Cc or a second To in: there is no header field, and merged
    values with line breaks are refused before they reach a header."""
    rows = members(3)
    rows[1]["氏名"] = "佐藤\r\nCc: everyone@members.example.com"
    campaign = draft_campaign(drafter, sender, rows)
    assert "merge.header_injection" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)


def test_incident_05_a_click_through_approval_is_refused(client, drafter, reviewer, sender, esp):
    campaign = submitted_campaign(drafter, sender, members(53),
                                  attachments=[("案内.pdf", NEWSLETTER_PDF, "application/pdf")])
    client.force_login(reviewer)
    response = client.post(reverse("approve", args=[campaign.pk]),
                           {"content_hash": campaign.submitted_hash}, follow=True)
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.state == State.IN_REVIEW
    assert b"missing-evidence" in client.get(reverse("review", args=[campaign.pk])).content
    nothing_reaches_the_esp(campaign, esp)


def test_incident_06_private_sender_address_is_refused_and_a_resend_needs_a_new_review(
        drafter, reviewer, sender, esp):
    private = SenderIdentity.objects.create(display_name="担任", email="teacher.private@gmail.com")
    campaign = draft_campaign(drafter, private, members(37))
    assert "sender.free_mail" in blocked_codes(campaign, drafter)

    first = approve_after_review(submitted_campaign(drafter, sender, members(37)), reviewer)
    resend = workflow.copy_campaign(first, drafter, "再送")
    assert resend.state == State.DRAFT and not resend.deliveries.exists()
    nothing_reaches_the_esp(resend, esp)


def list_as_xlsx(rows) -> bytes:
    return xlsx([list(rows[0].keys()), *(list(row.values()) for row in rows)])


def test_incident_09_the_recipient_list_attached_instead_of_the_newsletter_is_blocked(drafter, sender, esp):
    rows = members(832)
    campaign = draft_campaign(drafter, sender, rows, name="デジタル市報 11月号",
                              attachments=[("市報11月号.xlsx", list_as_xlsx(rows),
                                            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")])
    codes = blocked_codes(campaign, drafter)
    assert codes & {"attachment.list_addresses", "attachment.list_rows"}
    nothing_reaches_the_esp(campaign, esp)


def test_incident_09_the_uploaded_list_file_itself_is_blocked(drafter, sender, esp):
    rows = members(50)
    campaign = draft_campaign(drafter, sender, rows)
    data = csv_bytes(rows)
    upload(campaign, drafter, "members.csv", data)
    workflow.add_attachment(campaign, drafter, "members.csv", data, "text/csv")
    assert "attachment.is_the_list" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)


def shifted_list(count: int, start: int, end: int) -> list[dict[str, str]]:
    """A hand-built newsletter list whose names slipped one row against the addresses."""
    people = [("佐藤", "太郎", "sato.taro"), ("鈴木", "花子", "suzuki.hanako"), ("高橋", "健太", "takahashi.kenta"),
              ("田中", "美咲", "tanaka.misaki"), ("伊藤", "一郎", "ito.ichiro"), ("渡辺", "さくら", "watanabe.sakura"),
              ("山本", "大輔", "yamamoto.daisuke"), ("中村", "愛", "nakamura.ai"), ("小林", "翔", "kobayashi.sho"),
              ("加藤", "陽子", "kato.yoko")]
    rows = []
    for i in range(count):
        family, given, local = people[i % len(people)]
        rows.append({"氏名": f"{family} {given}", "メールアドレス": f"{local}{i}@example.com"})
    names = [row["氏名"] for row in rows]
    for i in range(start, end):
        rows[i]["氏名"] = names[i + 1]
    return rows


def test_incident_10_names_shifted_against_addresses_are_flagged(drafter, reviewer, sender, esp):
    rows = shifted_list(200, 30, 60)
    campaign = draft_campaign(drafter, sender, rows, name="メルマガ", body="{{氏名}} 様\n今月のメルマガです。")
    workflow.submit(campaign, drafter)
    campaign.refresh_from_db()
    shifted = [f for f in campaign.findings if f["code"] == "list.names_shifted"]
    assert shifted and shifted[0]["severity"] == "acknowledge"
    assert 32 in shifted[0]["rows"] and 61 in shifted[0]["rows"]  # list rows 32–61 (header is row 1)
    # The reviewer cannot approve without ticking it.
    review_everything(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=[])
    nothing_reaches_the_esp(campaign, esp)


def test_incident_10_a_mostly_shifted_list_cannot_be_submitted(drafter, sender, esp):
    campaign = draft_campaign(drafter, sender, shifted_list(100, 0, 99), body="{{氏名}} 様")
    assert "list.names_shifted" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)


def test_incident_11_another_users_data_inside_a_message_is_blocked(drafter, sender, esp):
    rows = members(98)
    for i, row in enumerate(rows):
        # A broken setting put the *next* user's name and history into each message.
        other = rows[(i + 1) % len(rows)]
        row["閲覧履歴"] = f"{other['氏名']} さんが閲覧: 求人 {other['会員番号']}"
    campaign = draft_campaign(drafter, sender, rows, body="{{氏名}} 様\nおすすめ: {{閲覧履歴}}")
    codes = blocked_codes(campaign, drafter)
    assert codes & {"message.other_recipient_data", "message.other_recipient_name"}
    nothing_reaches_the_esp(campaign, esp)


def test_incident_12_an_apology_carrying_other_members_unsubscribe_links_is_blocked(drafter, sender, esp):
    rows = members(1353)
    links = "\n".join(f"https://boat.example.jp/unsubscribe?m={row['メールアドレス']}" for row in rows[:40])
    campaign = draft_campaign(drafter, sender, rows, name="お詫び",
                              body="{{氏名}} 様\n先日のメールについてお詫び申し上げます。\n配信停止:\n" + links)
    assert "message.list_addresses_in_text" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)


def test_incident_13_near_identical_addresses_must_be_acknowledged_by_the_reviewer(
        drafter, reviewer, sender, esp):
    # The same whistleblower twice (same name, same phone), once with the address mistyped.
    rows = [{"氏名": "山田 和夫", "メールアドレス": "k.yamada1975@example.ne.jp", "電話": "090-1234-5678"},
            {"氏名": "山田 和夫", "メールアドレス": "k.yamada1976@example.ne.jp", "電話": "090-1234-5678"}]
    campaign = submitted_campaign(drafter, sender, rows, body="{{氏名}} 様")
    similar = [f for f in campaign.findings if f["code"] == "list.similar_addresses"]
    assert similar and similar[0]["severity"] == "acknowledge" and similar[0]["rows"] == [2, 3]
    review_everything(campaign, reviewer)
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer, campaign.submitted_hash, acknowledged=[])
    nothing_reaches_the_esp(campaign, esp)


def test_incident_13_a_new_address_beside_one_mailed_before_must_be_acknowledged(
        drafter, reviewer, sender, esp):
    # Reporters are written to by address alone: no names in the list.
    earlier = [{"メールアドレス": "k.yamada1975@example.ne.jp", "受付番号": "W0001"}]
    message = {"subject": "ご連絡", "body": "受付番号 {{受付番号}} についてご連絡します。"}
    engine.start(approved_campaign(drafter, reviewer, sender, earlier, **message).pk)
    Delivery.objects.update(status=Delivery.Status.SENT)
    rows = [*earlier, {"メールアドレス": "k.yamada1976@example.ne.jp", "受付番号": "W0002"}]
    campaign = submitted_campaign(drafter, sender, rows, **message)
    similar, = [f for f in campaign.findings if f["code"] == "list.similar_addresses"]
    assert similar["rows"] == [2, 3] and similar["items"][0][4] == "new_twin"
    esp.clear()
    nothing_reaches_the_esp(campaign, esp)


def test_incident_14_a_mistyped_domain_is_blocked_with_the_correction(drafter, sender, esp):
    rows = members(675)
    rows[100]["メールアドレス"] = "shokuin.kinkyu@yahoo.co.jpp"
    campaign = draft_campaign(drafter, sender, rows)
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    [typo] = [f for f in blocked.value.findings if f.code == "list.domain_typo"]
    assert 102 in typo.rows and "yahoo.co.jp" in typo.message
    nothing_reaches_the_esp(campaign, esp)


def test_incident_14_a_bounced_address_is_blocked_until_removed(drafter, sender, esp):
    rows = members(20)
    Suppression.objects.create(email=rows[5]["メールアドレス"], reason=Suppression.Reason.BOUNCED)
    campaign = draft_campaign(drafter, sender, rows)
    assert "list.suppressed" in blocked_codes(campaign, drafter)
    nothing_reaches_the_esp(campaign, esp)
