"""Merge fields are not a template language: nothing a drafter or a list cell writes is evaluated,
merged values are escaped in HTML, and a line break can never become a header."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from approvals import merge, workflow
from approvals.delivery import engine
from approvals.models import Campaign, Delivery
from approvals.rendering import build_email, render_for
from tests.factories import approve_after_review, draft_campaign, members

ROOT = Path(__file__).resolve().parents[2]

# Placeholders that look like Django template code: refused before submission.
TEMPLATE_EXPRESSIONS = [
    "{{ settings.SECRET_KEY }}",
    "{{ a.b }}",
    "{{ x|safe }}",
    "{{ 氏名|upper }}",
    "{{ request.user.password }}",
    "{{ 氏名.0 }}",
    "{{ campaign.drafter.password }}",
]
# Tags and comments: not placeholders, so they are plain text that reaches the reader as written.
TEMPLATE_TAGS = [
    "{% debug %}",
    "{% load static %}",
    "{% include 'base.html' %}",
    "{% csrf_token %}",
    "{# hidden #}",
    "{% now 'Y' %}",
]


@pytest.mark.parametrize("expression", TEMPLATE_EXPRESSIONS)
@pytest.mark.parametrize("field", ["subject", "body_text", "body_html"])
def test_template_expressions_block_submission(field, expression, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(2))
    workflow.update_message(campaign, drafter, **{field: f"{{{{氏名}}}} 様 {expression}"})
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    assert any(f.code == "merge.unknown_field" for f in blocked.value.findings)
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT
    # And rendering never evaluates it either.
    with pytest.raises(merge.MergeError):
        render_for(campaign, campaign.recipients.first())


def test_template_expression_blocks_submission_through_the_page(drafter, sender, client_for):
    campaign = draft_campaign(drafter, sender, members(1), body="{{ settings.SECRET_KEY }}")
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    page = response.content.decode()
    assert "{{ settings.SECRET_KEY }}" in page  # named in the message, escaped by the page
    assert settings.SECRET_KEY not in page
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


@pytest.mark.parametrize("tag", TEMPLATE_TAGS)
def test_template_tags_are_literal_text(tag, drafter, sender):
    campaign = draft_campaign(drafter, sender, members(1), subject=f"{{{{氏名}}}} {tag}",
                              body=f"{{{{氏名}}}} 様\n{tag}", html=f"<p>{tag} {{{{氏名}}}}</p>")
    workflow.submit(campaign, drafter)  # not template code to us: nothing to block
    recipient = campaign.recipients.first()
    rendered = render_for(campaign, recipient)
    assert rendered.subject == f"{recipient.display_name} {tag}"
    assert rendered.text == f"{recipient.display_name} 様\n{tag}"
    assert tag.replace("'", "&#x27;") in rendered.html or tag in rendered.html
    for output in (rendered.subject, rendered.text, rendered.html):
        assert settings.SECRET_KEY not in output
        assert "csrfmiddlewaretoken" not in output and "sql_queries" not in output


def test_merged_values_are_never_evaluated_again(drafter, sender):
    """A cell holding a placeholder or template code is merged as the text it is."""
    rows = [{"氏名": "{{会員番号}} {{ settings.SECRET_KEY }} {% debug %}", "メールアドレス": "a@example.com",
             "会員番号": "M0001"}]
    campaign = draft_campaign(drafter, sender, rows, subject="{{氏名}}", body="{{氏名}}")
    rendered = render_for(campaign, campaign.recipients.get())
    assert rendered.text == rows[0]["氏名"]
    assert rendered.subject == rows[0]["氏名"]
    assert "M0001" not in rendered.text and settings.SECRET_KEY not in rendered.text


def _elements(html: str) -> list[tuple[str, list[str]]]:
    from html.parser import HTMLParser

    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, [name for name, _value in attrs]))

    Collector().feed(html)
    return found


def test_merged_values_are_html_escaped(drafter, sender):
    value = '<img src=x onerror="alert(1)"><script>alert(2)</script>"&'
    rows = [{"氏名": value, "メールアドレス": "a@example.com", "会員番号": "1"}]
    campaign = draft_campaign(drafter, sender, rows, html='<p title="{{氏名}}">{{氏名}} 様</p>')
    html = render_for(campaign, campaign.recipients.get()).html
    assert _elements(html) == [("p", ["title"])]  # the value added no element and no attribute
    assert "&lt;img" in html and "&lt;script&gt;" in html
    # The plain-text body carries the value as it is (text, not markup).
    assert render_for(campaign, campaign.recipients.get()).text == f"{value} 様\n会員番号 1 の皆様へ。"


# --- Header injection -------------------------------------------------------------------

INJECTION = "x\r\nBcc: evil@example.org"


@pytest.mark.parametrize("value", [INJECTION, "x\nBcc: evil@example.org", "x\rBcc: evil@example.org"])
def test_render_header_refuses_a_line_break_in_a_merged_value(value):
    with pytest.raises(merge.MergeError):
        merge.render_header("{{氏名}} 様", {"氏名": value})
    assert merge.render_header("{{氏名}} 様", {"氏名": "山田"}) == "山田 様"


def injection_campaign(drafter, sender, subject: str):
    rows = [{"氏名": INJECTION, "メールアドレス": "victim@example.com", "会員番号": "1"},
            {"氏名": "山田 太郎", "メールアドレス": "taro@example.com", "会員番号": "2"}]
    return draft_campaign(drafter, sender, rows, subject=subject, body="{{氏名}} 様")


def test_a_line_break_merged_into_the_subject_is_refused_by_render_for(drafter, sender):
    campaign = injection_campaign(drafter, sender, subject="{{氏名}} 様へ")
    victim = campaign.recipients.get(email="victim@example.com")
    with pytest.raises(merge.MergeError):
        render_for(campaign, victim)
    assert render_for(campaign, campaign.recipients.get(email="taro@example.com")).subject == "山田 太郎 様へ"


def test_a_line_break_in_the_display_name_is_refused_by_render_for(drafter, sender):
    campaign = injection_campaign(drafter, sender, subject="お知らせ")
    victim = campaign.recipients.get(email="victim@example.com")
    try:
        rendered = render_for(campaign, victim)
    except merge.MergeError:
        return
    for name, value in rendered.header_lines():
        assert "\r" not in value and "\n" not in value, name


def _send_everything(campaign_id: int) -> None:
    assert engine.start(campaign_id)
    while engine.send_batch(campaign_id).again_in == 0:
        pass


def _approve_or_blocked(campaign, drafter, reviewer) -> bool:
    try:
        workflow.submit(campaign, drafter)
    except workflow.SubmissionBlocked:
        return False
    campaign.refresh_from_db()
    approve_after_review(campaign, reviewer)
    return True


@pytest.mark.parametrize("subject", ["お知らせ", "{{氏名}} 様へ"], ids=["name-in-to", "name-in-subject"])
def test_no_injected_header_ever_reaches_the_esp(subject, drafter, reviewer, sender, esp):
    campaign = injection_campaign(drafter, sender, subject)
    if _approve_or_blocked(campaign, drafter, reviewer):
        try:
            _send_everything(campaign.pk)
        except (merge.MergeError, ValueError):
            pass  # refused loudly is refused (see the test below for failing gracefully)
    for message in esp.messages():
        assert "evil@example.org" not in message.recipients
        raw = str(message.raw)
        assert "evil@example.org" not in raw and "\\r\\nBcc" not in raw
    assert not esp.messages_to("victim@example.com")


@pytest.mark.parametrize("subject", ["お知らせ", "{{氏名}} 様へ"], ids=["name-in-to", "name-in-subject"])
def test_a_line_break_in_a_header_value_is_blocked_or_fails_only_that_delivery(
        subject, drafter, reviewer, sender, esp):
    campaign = injection_campaign(drafter, sender, subject)
    if not _approve_or_blocked(campaign, drafter, reviewer):
        campaign.refresh_from_db()
        assert campaign.state == Campaign.State.DRAFT
        return
    _send_everything(campaign.pk)
    statuses = dict(campaign.deliveries.values_list("email", "status"))
    assert statuses == {"victim@example.com": Delivery.Status.FAILED, "taro@example.com": Delivery.Status.SENT}
    assert [m.recipients for m in esp.messages()] == [["taro@example.com"]]


@pytest.mark.parametrize("subject", ["お知らせ", "{{氏名}} 様へ"], ids=["name-in-to", "name-in-subject"])
def test_the_preflight_blocks_a_line_break_in_a_header_value(subject, drafter, sender, client_for):
    campaign = injection_campaign(drafter, sender, subject)
    with pytest.raises(workflow.SubmissionBlocked) as blocked:
        workflow.submit(campaign, drafter)
    [finding] = [f for f in blocked.value.findings if f.code == "merge.header_injection"]
    assert "2" in finding.message  # the row, as Excel numbers it
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    assert any("line break" in str(m) for m in response.context["messages"])
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_the_injected_to_header_never_becomes_a_message(drafter, sender):
    """MailGuard's rendering refuses it, and behind that Django's own EmailMessage (outbox, SMTP)
    would too, should such a row ever get past the preflight."""
    from django.core.mail import BadHeaderError

    campaign = injection_campaign(drafter, sender, subject="お知らせ")
    victim = campaign.recipients.get(email="victim@example.com")
    delivery = Delivery(campaign=campaign, recipient=victim, email=victim.email, message_id="<t@mailguard.invalid>")
    with pytest.raises((BadHeaderError, merge.MergeError)):
        build_email(campaign, delivery, []).message()


# --- No template engine on user data ------------------------------------------------------

TEMPLATE_ENGINE_USE = re.compile(r"\bTemplate\(|from_string\(|engines\[|\bEngine\(")


def _python_sources():
    for package in ("approvals", "mailguard"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                yield path


def test_the_source_tree_never_builds_a_template_from_a_string():
    sources = list(_python_sources())
    assert len(sources) > 20
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
             if TEMPLATE_ENGINE_USE.search(line)]
    assert not found, "\n".join(found)


def test_templates_never_switch_escaping_off():
    found = [f"{path.relative_to(ROOT)}: {match.group(0)}"
             for path in sorted((ROOT / "templates").rglob("*.html"))
             for match in re.finditer(r"\|\s*safe\b|autoescape\s+off|\|\s*safeseq\b",
                                      path.read_text(encoding="utf-8"))]
    assert not found, found
