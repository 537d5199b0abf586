"""The leak scan for links: each rendered message carries only its own recipient's download and
unsubscribe tokens (incident 12: an apology rebuilt in a hurry carried every member's unsubscribe link).

Besides the replays, a seeded generator places another recipient's token in every place a message
can take it from (subject, text, HTML, a list column, wrapped in a redirect URL, from an earlier campaign)
and builds clean campaigns (newsletters with links, lists carrying each row's own earlier links,
token-shaped noise): every leak must be found and no clean campaign may be flagged.
"""

import random
from urllib.parse import quote

import pytest

from approvals import guards, workflow
from approvals.recipient_links import DOWNLOAD, UNSUBSCRIBE, make_token
from tests.factories import members, send_all
from tests.links_helpers import approved_with, campaign_with, unsubscribe_path

pytestmark = pytest.mark.django_db

BASE = "http://127.0.0.1:8000"
BODY = "{{氏名}} 様\n会員番号 {{会員番号}}\n"


def link_findings(campaign) -> list:
    return [f for f in guards.run_preflight(campaign) if f.code.startswith("links.")]


def with_column(rows: list[dict], name: str, values: list[str]) -> list[dict]:
    return [{**row, name: value} for row, value in zip(rows, values, strict=True)]


@pytest.fixture
def earlier(drafter, reviewer, sender, esp):
    """A newsletter with download links, sent: its members, and each member's links as they received them."""
    rows = members(6)
    campaign = approved_with(drafter, reviewer, sender, rows, newsletter=True)
    send_all(campaign.pk)
    received = {}
    for row in rows:
        [message] = esp.messages_to(row["メールアドレス"])
        received[row["メールアドレス"]] = message.text_body
    return campaign, rows, received


# --- Replays --------------------------------------------------------------------------------------


def test_incident_12_an_apology_with_a_members_unsubscribe_link_pasted_is_blocked(earlier, drafter):
    campaign, rows, received = earlier
    pasted = BASE + unsubscribe_path(received[rows[0]["メールアドレス"]])
    apology = workflow.copy_campaign(campaign, drafter, name="お詫び")
    workflow.update_message(apology, drafter, subject="お詫び", body_text=BODY + "配信停止はこちら: " + pasted)
    apology.refresh_from_db()
    [finding] = link_findings(apology)
    assert finding.code == "links.foreign_token" and finding.severity == "block"
    # Every message but the owner's own carries someone else's link.
    owner_row = apology.recipients.get(email=rows[0]["メールアドレス"]).row_number
    assert set(finding.rows) == set(apology.recipients.exclude(row_number=owner_row).values_list(
        "row_number", flat=True))
    with pytest.raises(workflow.SubmissionBlocked):
        workflow.submit(apology, drafter)


def test_a_list_column_with_the_links_shifted_by_one_row_is_blocked(earlier, drafter, sender):
    _campaign, rows, received = earlier
    links = [BASE + unsubscribe_path(received[row["メールアドレス"]]) for row in rows]
    shifted = links[1:] + links[:1]
    campaign = campaign_with(drafter, sender, with_column(rows, "停止URL", shifted), links=False,
                             body=BODY + "停止: {{停止URL}}")
    [finding] = link_findings(campaign)
    assert len(finding.rows) == len(rows)


def test_a_list_column_with_each_members_own_earlier_link_is_not_a_leak(earlier, drafter, sender):
    _campaign, rows, received = earlier
    own = [BASE + unsubscribe_path(received[row["メールアドレス"]]) for row in rows]
    campaign = campaign_with(drafter, sender, with_column(rows, "停止URL", own), links=False,
                             body=BODY + "停止: {{停止URL}}")
    assert link_findings(campaign) == []


def test_per_recipient_links_in_shared_mode_are_blocked(drafter, sender):
    from approvals.models import InternalDomain

    InternalDomain.objects.create(domain="example.com")
    for options in ({"newsletter": True, "links": False}, {"links": True}):
        campaign = campaign_with(drafter, sender, members(3), mode="shared", **options)
        assert [f.code for f in link_findings(campaign)] == ["links.shared_mode"]


def test_a_shared_message_carries_the_first_rows_pasted_link_to_everyone(drafter, sender):
    from approvals.models import InternalDomain

    InternalDomain.objects.create(domain="example.com")
    rows = members(3)
    campaign = campaign_with(drafter, sender, with_column(rows, "URL", ["", "", ""]), links=False, mode="shared",
                             body=BODY + "{{URL}}")
    first = campaign.recipients.get(row_number=2)
    token = make_token(UNSUBSCRIBE, first.pk)
    campaign.recipients.filter(pk=first.pk).update(data={**first.data, "URL": f"{BASE}/unsubscribe/{token}/"})
    [finding] = link_findings(campaign)
    assert finding.rows == (3, 4)


# --- The class: generated leaks and clean campaigns ------------------------------------------------------


PLACES = ["subject", "text", "html_href", "column_text", "column_html", "wrapped_in_a_redirect", "bare_token"]


def _leaky_campaign(rng: random.Random, drafter, sender, other_campaign_ids: list[int]):
    rows = members(rng.randint(2, 12), domain=rng.choice(["example.com", "example.org"]))
    place = rng.choice(PLACES)
    victim = rng.choice(other_campaign_ids)  # a row of an earlier campaign, another person
    kind = rng.choice([DOWNLOAD, UNSUBSCRIBE])
    token = make_token(kind, victim, rng.randint(1, 50) if kind == DOWNLOAD else None)
    url = f"{BASE}/{'files' if kind == DOWNLOAD else 'unsubscribe'}/{token}/"
    subject, body, html, column = "{{氏名}} 様へのお知らせ", BODY, "", None
    if place == "subject":
        subject += " " + token
    elif place == "text":
        body += "\n" + url
    elif place == "html_href":
        html = f'<p>{{{{氏名}}}} 様</p><p><a href="{url}">停止</a></p>'
    elif place in ("column_text", "column_html"):
        column = [url if i == rng.randrange(len(rows)) else "" for i in range(len(rows))]
        column[rng.randrange(len(rows))] = url
        if place == "column_text":
            body += "{{リンク}}"
        else:
            html = '<p><a href="{{リンク}}">リンク</a></p>'
    elif place == "wrapped_in_a_redirect":
        body += "\nhttps://click.example.jp/r?to=" + quote(url, safe="")
    else:
        body += f"\n参照番号: {token}"
    if column is not None:
        rows = with_column(rows, "リンク", column)
    return campaign_with(drafter, sender, rows, links=rng.random() < 0.5, newsletter=rng.random() < 0.5,
                         subject=subject, body=body, html=html), place


def _clean_campaign(rng: random.Random, drafter, sender):
    rows = members(rng.randint(1, 15), domain=rng.choice(["example.com", "example.net"]))
    noise = rng.choice([
        "https://example.jp/a:b/c",
        "詳しくは https://city.example.jp/news/2024:11/ をご覧ください",
        "受付番号 u1234." + "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789_-") for _ in range(22)),
        "型番 d12-3." + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") for _ in range(22)),
        "時刻 10:30～12:00、会場 3F",
    ])
    html = rng.choice(["", "<p>{{氏名}} 様</p><p>" + noise + "</p>"])
    return campaign_with(drafter, sender, rows, links=rng.random() < 0.6, newsletter=rng.random() < 0.6,
                         body=BODY + noise, html=html)


def test_generated_leaks_are_all_found_and_clean_campaigns_never_flagged(drafter, sender):
    rng = random.Random(20241201)
    earlier = campaign_with(drafter, sender, members(5, domain="earlier.example"), name="earlier")
    other_ids = list(earlier.recipients.values_list("pk", flat=True))
    missed, false_alarms, places = [], [], set()
    for _ in range(14):
        campaign, place = _leaky_campaign(rng, drafter, sender, other_ids)
        places.add(place)
        if not [f for f in link_findings(campaign) if f.code == "links.foreign_token"]:
            missed.append(place)
    for _ in range(14):
        campaign = _clean_campaign(rng, drafter, sender)
        if link_findings(campaign):
            false_alarms.append((campaign.body_text, campaign.kind, campaign.attachment_delivery))
    assert missed == [] and false_alarms == []
    assert len(places) >= 5  # the seed covers most places a token can come from


def test_a_rendering_bug_giving_everyone_one_rows_links_is_caught(drafter, sender, monkeypatch):
    """What MailGuard adds is checked too: if the code ever put the first row's token in every message
    (the shape of incident 12), submission would be blocked."""
    from approvals import recipient_links

    campaign = campaign_with(drafter, sender, members(4), newsletter=True)
    first = campaign.recipients.order_by("row_number").first().pk
    made = recipient_links.make_token
    monkeypatch.setattr(recipient_links, "make_token",
                        lambda kind, _recipient_id, *args, **kwargs: made(kind, first, *args, **kwargs))
    [finding] = link_findings(campaign)
    assert finding.rows == (3, 4, 5)
