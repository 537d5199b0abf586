"""The organisation's own rules: where they look, how they match (RE2, NFKC), what each action does,
and their YAML export and import."""

import random

import pytest
import yaml
from django.core.management import call_command
from django.urls import reverse

from approvals import guards, workflow
from approvals.models import AuditEvent, Campaign, OrganisationRule
from approvals.org_rules import RuleError, compile_rule, prepare
from approvals.org_rules.exchange import RulesImportError, export_rules, import_rules
from tests.factories import approve_after_review, draft_campaign, members, submitted_campaign
from tests.samples import NEWSLETTER_PDF, make_pdf

Target = OrganisationRule.Target


def rule(name="rule", target=Target.SUBJECT, expression="社外秘", match="keyword", action="acknowledge",
         message="確認してください", **extra) -> OrganisationRule:
    return OrganisationRule.objects.create(name=name, target=target, match=match, expression=expression,
                                           action=action, message=message, **extra)


def rule_findings(campaign) -> list:
    return [f for f in guards.run_preflight(campaign) if f.code.startswith("org_rule.")]


# --- Matching -------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["CONFIDENTIAL", "confidential", "Ｃｏｎｆｉｄｅｎｔｉａｌ",
                                  "ＣＯＮＦＩＤＥＮＴＩＡＬ資料"])
def test_a_keyword_matches_whatever_the_width_and_case(text):
    assert compile_rule("keyword", "Confidential").find(prepare(text)) is not None


def test_half_width_katakana_matches_the_full_width_keyword():
    assert compile_rule("keyword", "マル秘").find(prepare("【ﾏﾙ秘】会議資料")) == "マル秘"


def test_a_pattern_sees_full_width_digits_as_digits_and_ignores_case():
    matcher = compile_rule("pattern", r"acct-\d{4}")
    assert matcher.find(prepare("ACCT-１２３４ をご確認ください")) == "ACCT-1234"
    assert matcher.find(prepare("acct-12")) is None


@pytest.mark.parametrize(("pattern", "why"), [
    (r"(?=secret)\w+", "look-ahead"), (r"(a)\1", "back-reference"), (r"(?<=x)y", "look-behind"), ("[", "broken"),
])
def test_patterns_re2_cannot_run_in_linear_time_are_refused(pattern, why):
    with pytest.raises(RuleError, match="RE2"):
        compile_rule("pattern", pattern)


def test_a_pattern_that_matches_empty_text_is_refused():
    with pytest.raises(RuleError, match="empty text"):
        compile_rule("pattern", "x*")


def test_a_pathological_pattern_runs_in_linear_time_on_a_long_text():
    # (a+)+$ takes exponential time in backtracking engines on "aaaa…!"; RE2 answers at once.
    assert compile_rule("pattern", r"(a+)+$").find(prepare("a" * 50_000 + "!")) is None


# --- Each target, through the preflight ----------------------------------------------------------


def test_subject_and_bodies(drafter, sender):
    rule("件名", Target.SUBJECT, "社外秘")
    rule("本文", Target.BODY_TEXT, "口座番号")
    rule("HTML", Target.BODY_HTML, r"http://", match="pattern")
    campaign = draft_campaign(drafter, sender, members(2), subject="【社外秘】{{氏名}} 様",
                              body="{{氏名}} 様\n口座番号をお知らせします", html='<p><a href="http://example.jp">x</a></p>')
    found = {f.message.split("organisation rule “")[1].split("”")[0] for f in rule_findings(campaign)}
    assert found == {"件名", "本文", "HTML"}


def test_attachment_names_and_attachment_text(drafter, sender):
    rule("名前", Target.ATTACHMENT_NAMES, "下書き")
    rule("中身", Target.ATTACHMENT_TEXT, "autumn festival")
    campaign = draft_campaign(drafter, sender, members(2), attachments=[
        ("案内_下書き.pdf", make_pdf("Winter notice"), "application/pdf"),
        ("kaiho.pdf", NEWSLETTER_PDF, "application/pdf")])
    files = {finding.code: finding.files for finding in rule_findings(campaign)}
    by_name = {r.name: f"org_rule.acknowledge.{r.pk}" for r in OrganisationRule.objects.all()}
    assert files == {by_name["名前"]: ("案内_下書き.pdf",), by_name["中身"]: ("kaiho.pdf",)}


def test_recipient_domains_keyword_covers_subdomains_and_names_the_rows(drafter, sender):
    rule("競合", Target.RECIPIENT_DOMAINS, "rival.example", action="block", message="競合他社には送れません")
    rows = [*members(3, "example.com"), *members(2, "mail.rival.example"), *members(1, "notrival.example")]
    campaign = draft_campaign(drafter, sender, rows)
    [finding] = rule_findings(campaign)
    assert finding.severity == "block" and finding.rows == (5, 6)
    assert "競合他社には送れません" in finding.message


def test_a_block_rule_stops_submission_on_the_page(client_for, drafter, sender):
    rule("秘", Target.SUBJECT, "社外秘", action="block", message="社外秘の案内は送れません")
    campaign = draft_campaign(drafter, sender, members(2), subject="社外秘 {{氏名}} 様")
    page = client_for(drafter).get(reverse("campaign_edit", args=[campaign.pk])).content.decode()
    assert f'data-code="org_rule.block.{OrganisationRule.objects.get().pk}"' in page
    response = client_for(drafter).post(reverse("campaign_submit", args=[campaign.pk]), follow=True)
    assert "社外秘の案内は送れません" in response.content.decode()
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.DRAFT


def test_an_acknowledge_rule_must_be_ticked_and_an_info_rule_is_only_shown(drafter, reviewer, sender):
    ack = rule("確認", Target.BODY_TEXT, "振込", action="acknowledge")
    rule("注記", Target.BODY_TEXT, "お知らせ", action="info")
    campaign = submitted_campaign(drafter, sender, members(2), body="{{氏名}} 様\n振込先のお知らせ")
    severities = {f["code"]: f["severity"] for f in campaign.findings if f["code"].startswith("org_rule.")}
    assert severities == {f"org_rule.acknowledge.{ack.pk}": "acknowledge",
                          f"org_rule.info.{OrganisationRule.objects.get(name='注記').pk}": "info"}
    with pytest.raises(workflow.WorkflowError):
        workflow.approve(campaign, reviewer, campaign.submitted_hash)
    approve_after_review(campaign, reviewer)
    assert campaign.state == Campaign.State.APPROVED


def test_two_rules_on_the_same_text_are_acknowledged_separately(drafter, sender):
    rule("一", Target.SUBJECT, "至急")
    rule("二", Target.SUBJECT, "重要")
    campaign = submitted_campaign(drafter, sender, members(2), subject="【至急・重要】{{氏名}} 様")
    keys = [f["key"] for f in guards.needing_acknowledgement(campaign.findings)]
    assert len(keys) == len(set(keys)) == 2


def test_disabled_rules_do_nothing(drafter, sender):
    rule("off", Target.SUBJECT, "お知らせ", enabled=False)
    assert not rule_findings(draft_campaign(drafter, sender, members(2)))


def test_realistic_rules_raise_no_alarm_on_clean_campaigns(drafter, sender):
    """False alarms train rubber-stamping: a set of typical office rules stays quiet on ordinary mail."""
    for name, target, match, expression in [
        ("社外秘", Target.SUBJECT, "keyword", "社外秘"), ("マイナンバー", Target.BODY_TEXT, "pattern", r"\b\d{12}\b"),
        ("口座", Target.BODY_TEXT, "keyword", "口座番号"), ("下書き", Target.ATTACHMENT_NAMES, "keyword", "draft"),
        ("競合", Target.RECIPIENT_DOMAINS, "keyword", "rival.example"), ("http", Target.BODY_HTML, "pattern", "http://"),
    ]:
        rule(name, target, expression, match=match)
    generator = random.Random(12)
    subjects = ["{{氏名}} 様 会報のお知らせ", "11月の定例会について", "【ご案内】秋祭りのお知らせ", "会費納入のお願い"]
    for index in range(8):
        campaign = draft_campaign(
            drafter, sender, members(generator.randint(1, 40), generator.choice(["example.com", "city.example.jp"])),
            subject=generator.choice(subjects), body="{{氏名}} 様\n会員番号 {{会員番号}}\nいつもありがとうございます。",
            html='<p>詳しくは <a href="https://www.city.example.jp/">市のサイト</a></p>', name=f"clean {index}",
            attachments=[("kaiho-11.pdf", NEWSLETTER_PDF, "application/pdf")])
        assert not rule_findings(campaign), campaign.subject


# --- YAML ---------------------------------------------------------------------------------------


SAMPLE = """\
format: mailguard-organisation-rules
version: 1
rules:
  - name: 社外秘の資料
    target: attachment_text
    match: keyword
    expression: 社外秘
    action: block
    message: 社外秘の資料は社外に送れません。
  - name: 口座番号
    target: body_text
    match: pattern
    expression: '口座\\s*番号'
    action: second_approver
    message: 口座番号を含む案内は二人で承認します。
    enabled: false
"""


def test_import_then_export_gives_the_same_rules(db):
    result = import_rules(SAMPLE.encode())
    assert result.created == ["社外秘の資料", "口座番号"]
    exported = export_rules(OrganisationRule.objects.order_by("pk"))
    OrganisationRule.objects.all().delete()
    import_rules(exported)
    rules = {r.name: (r.target, r.match, r.expression, r.action, r.enabled) for r in OrganisationRule.objects.all()}
    assert rules == {"社外秘の資料": ("attachment_text", "keyword", "社外秘", "block", True),
                     "口座番号": ("body_text", "pattern", r"口座\s*番号", "second_approver", False)}
    assert "社外秘の資料" in exported  # readable, not \u-escaped
    assert AuditEvent.objects.filter(action="organisation_rules_imported").count() == 2


def test_import_updates_rules_with_the_same_name(db):
    rule("口座番号", Target.SUBJECT, "古い")
    result = import_rules(SAMPLE)
    assert result.updated == ["口座番号"] and OrganisationRule.objects.get(name="口座番号").target == "body_text"


def one_rule(**changes) -> str:
    """A rules file with one rule: a valid one, changed as given (None removes a key)."""
    fields = {"name": "a", "target": "subject", "expression": "x", "action": "block", "message": "m", **changes}
    return yaml.safe_dump({"rules": [{k: v for k, v in fields.items() if v is not None}]}, allow_unicode=True)


@pytest.mark.parametrize(("document", "expected"), [
    ("rules: [\n  - name: x\n    target: [", "line"),
    ("- just a list", "mapping with a list"),
    ("format: something-else\nrules: []", "not a MailGuard rules file"),
    (one_rule(colour="red"), "unknown keys: colour"),
    (one_rule(target="footer"), "“target” must be"),
    (one_rule(action="shout"), "“action” must be"),
    (one_rule(match="pattern", expression="(?=x)y"), "RE2"),
    (one_rule(message=None), "“message” is missing"),
    (one_rule(enabled="yes"), "“enabled” must be true or false"),
    (one_rule(expression=12), "“expression” must be text"),
    ("rules:\n  - {name: a, target: subject, expression: x, action: block, message: m}\n"
     "  - {name: a, target: body_text, expression: y, action: info, message: n}", "used twice"),
    ("rules:\n  - !!python/object/apply:os.system ['true']", "not valid YAML"),
])
def test_a_wrong_file_is_refused_whole_with_a_clear_message(db, document, expected):
    rule("残る", Target.SUBJECT, "既存")
    with pytest.raises(RulesImportError) as refused:
        import_rules(document)
    assert any(expected in error for error in refused.value.errors), refused.value.errors
    assert list(OrganisationRule.objects.values_list("name", flat=True)) == ["残る"]


def test_every_problem_of_a_file_is_listed_with_the_rule_number(db):
    document = ("rules:\n  - {name: good, target: subject, expression: x, action: info, message: m}\n"
                "  - {name: bad1, target: nowhere, expression: x, action: info, message: m}\n"
                "  - {name: bad2, target: subject, match: pattern, expression: '(a)\\1', action: info, message: m}\n")
    with pytest.raises(RulesImportError) as refused:
        import_rules(document)
    assert [error.split(":")[0] for error in refused.value.errors] == ["Rule 2 (“bad1”)", "Rule 3 (“bad2”)"]
    assert not OrganisationRule.objects.exists()


def test_large_and_non_utf8_files_are_refused(db):
    with pytest.raises(RulesImportError, match="1 MB"):
        import_rules(b"#" * (1024 * 1024 + 1))
    with pytest.raises(RulesImportError, match="UTF-8"):
        import_rules("rules: []\n# 社外秘".encode("cp932"))


def test_management_commands_export_and_import(db, tmp_path, capsys):
    import_rules(SAMPLE)
    target = tmp_path / "rules.yaml"
    call_command("export_org_rules", output=str(target))
    OrganisationRule.objects.all().delete()
    call_command("import_org_rules", str(target))
    assert OrganisationRule.objects.count() == 2


# --- The admin ------------------------------------------------------------------------------------


def test_admin_refuses_a_pattern_re2_cannot_run(admin_client):
    response = admin_client.post(reverse("admin:approvals_organisationrule_add"), {
        "name": "bad", "enabled": "on", "target": "subject", "match": "pattern", "expression": r"(?=a)b",
        "action": "block", "message": "m"})
    assert response.status_code == 200 and "RE2" in response.content.decode()
    assert not OrganisationRule.objects.exists()


def test_admin_changes_are_audited(admin_client):
    response = admin_client.post(reverse("admin:approvals_organisationrule_add"), {
        "name": "至急", "enabled": "on", "target": "subject", "match": "keyword", "expression": "至急",
        "action": "acknowledge", "message": "本当に至急ですか"})
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="organisation_rule_saved")
    assert event.details["rule"] == "至急" and event.actor.is_superuser


def test_admin_exports_and_imports_yaml(admin_client):
    import_rules(SAMPLE)
    ids = list(OrganisationRule.objects.values_list("pk", flat=True))
    exported = admin_client.post(reverse("admin:approvals_organisationrule_changelist"),
                                 {"action": "export_yaml", "_selected_action": ids})
    assert exported["Content-Type"].startswith("application/yaml")
    OrganisationRule.objects.all().delete()
    from django.core.files.uploadedfile import SimpleUploadedFile

    page = admin_client.post(reverse("admin:approvals_rules_import"),
                             {"file": SimpleUploadedFile("rules.yaml", exported.content)})
    assert page.status_code == 302 and OrganisationRule.objects.count() == 2
    refused = admin_client.post(reverse("admin:approvals_rules_import"), {
        "file": SimpleUploadedFile("rules.yaml", b"rules:\n  - {name: x, target: here, expression: y, action: info, "
                                                 b"message: m}\n")})
    assert refused.status_code == 200 and 'id="import-errors"' in refused.content.decode()
    assert "ルール 1（「x」）" in refused.content.decode()  # the admin pages are in Japanese
