"""Every URL of approvals/urls.py × every kind of person × a campaign they may or may not see.

The rules the table below spells out, cell by cell:

* Anonymous: every page redirects to the sign-in page (302 → /accounts/login/).
* A role check comes first: a page for a role the person does not hold is 403
  (drafter pages for reviewers, auditors and role-less superusers; the review
  pages for drafters; the audit pages for everyone but auditors). A superuser
  holds no role by being a superuser: it administers at /admin/, and besides sees
  only its own notification settings and the system-mail ledger (failed
  notifications are an administrator's to fix).
* Then visibility: a campaign the person may not know exists is 404, never 403
  (drafters see only campaigns they drafted or edited, so "other" — a second
  drafter — gets 404 on the owner's campaign; reviewers see every campaign except
  drafts; auditors see all).
* A person who may act gets 200 for a page and 302 for an action (the action's
  own refusals, e.g. approving a draft, are messages after the redirect); the
  drafter's edit page of a frozen (in review) campaign redirects to its status page.
* Actions are POST only: GET is 405 for everyone, and a POST without a CSRF
  token is 403.

Objects: "draft" and "in_review" are both campaigns of ``owner`` (with two
recipients and a PDF attachment); "other" is the same as the owner looking at
another drafter's campaign. Cells with one code apply to both objects; a pair is
(draft, in_review).
"""

import pytest
from django.test import Client
from django.urls import URLPattern, reverse

from approvals import urls as approval_urls
from approvals.guards import run_preflight
from approvals.guards.texts import displayed
from approvals.models import Campaign

from .conftest import campaign_with_attachment

ACTORS = ("anon", "owner", "other", "reviewer", "auditor", "root")
OBJECTS = ("draft", "in_review")

# name: (method, anon, owner, other, reviewer, auditor, root)
TABLE = {
    "home":                 ("GET",  302, 302, 302, 302, 302, 302),
    # Drafter
    "campaign_list":        ("GET",  302, 200, 200, 403, 403, 403),
    "campaign_create":      ("GET",  302, 200, 200, 403, 403, 403),
    "campaign_edit":        ("GET",  302, (200, 302), 404, 403, 403, 403),
    "list_upload":          ("POST", 302, 302, 404, 403, 403, 403),
    "columns_choose":       ("POST", 302, 302, 404, 403, 403, 403),
    "attachment_add":       ("POST", 302, 302, 404, 403, 403, 403),
    "attachment_remove":    ("POST", 302, 302, 404, 403, 403, 403),
    "campaign_submit":      ("POST", 302, 302, 404, 403, 403, 403),
    "campaign_cancel":      ("POST", 302, 302, 404, (404, 302), 403, 403),
    "columns_drop":         ("POST", 302, 302, 404, 403, 403, 403),
    "proof_send":           ("POST", 302, 302, 404, 403, 403, 403),
    "campaign_copy":        ("POST", 302, 302, 404, 403, 403, 403),
    "campaign_pause":       ("POST", 302, 302, 404, (404, 302), 403, 403),
    "campaign_resume":      ("POST", 302, 302, 404, (404, 302), 403, 403),
    # Everyone with a role who may see the campaign
    "campaign_detail":      ("GET",  302, 200, 404, (404, 200), 200, 403),
    "campaign_progress":    ("GET",  302, 200, 404, (404, 200), 200, 403),
    "attachment_download":  ("GET",  302, 200, 404, (404, 200), 200, 403),
    "finding_items":        ("GET",  302, 200, 404, (404, 200), 200, 403),
    # Reviewer
    "review_queue":         ("GET",  302, 403, 403, 200, 403, 403),
    "review":               ("GET",  302, 403, 403, (404, 200), 403, 403),
    "preview_html":         ("GET",  302, 200, 404, (404, 200), 200, 403),
    "approve":              ("POST", 302, 403, 403, (404, 302), 403, 403),
    "reject":               ("POST", 302, 403, 403, (404, 302), 403, 403),
    "in_doubt_resolve":     ("POST", 302, 403, 403, (404, 302), 403, 403),
    "downloads_stop":       ("POST", 302, 302, 404, (404, 302), 403, 403),
    # Auditor
    "audit_campaigns":      ("GET",  302, 403, 403, 403, 200, 403),
    "audit_campaign":       ("GET",  302, 403, 403, 403, (200, 200), 403),
    "audit_deliveries_csv": ("GET",  302, 403, 403, 403, 200, 403),
    "audit_dashboard":      ("GET",  302, 403, 403, 403, 200, 403),
    "audit_address":        ("GET",  302, 403, 403, 403, 200, 403),
    "audit_changes":        ("GET",  302, 403, 403, 403, 200, 403),
    "audit_approved_version": ("GET", 302, 403, 403, 403, 200, 403),
    "audit_incident_report": ("GET", 302, 403, 403, 403, 200, 403),
    "audit_incident_report_csv": ("GET", 302, 403, 403, 403, 200, 403),
    "audit_incident_report_json": ("GET", 302, 403, 403, 403, 200, 403),
    # The system-mail ledger: auditors, and administrators (who answer for failed notifications)
    "audit_system_mail":    ("GET",  302, 403, 403, 403, 200, 200),
    # Each person's own notification settings
    "notification_settings": ("GET", 302, 200, 200, 200, 200, 200),
}

# Form fields an allowed person would send (so an allowed POST reaches the workflow).
POST_DATA = {"proof_send": {"row": "2"}}


def _patterns() -> dict[str, URLPattern]:
    return {p.name: p for p in approval_urls.urlpatterns}


def _takes_campaign(name: str) -> bool:
    return "pk" in _patterns()[name].pattern.converters


def _cases(names, objects_for_pk=OBJECTS):
    for name in names:
        for actor in ACTORS:
            for obj in (objects_for_pk if _takes_campaign(name) else (None,)):
                yield pytest.param(name, actor, obj, id=f"{name}-{actor}-{obj or 'none'}")


def _expected(name: str, actor: str, obj: str | None) -> int:
    cell = TABLE[name][1 + ACTORS.index(actor)]
    if isinstance(cell, tuple):
        return cell[OBJECTS.index(obj)]
    return cell


POST_ONLY = [name for name, row in TABLE.items() if row[0] == "POST"]


@pytest.fixture
def people(owner, other_drafter, reviewer, auditor, superuser):
    return {"anon": None, "owner": owner, "other": other_drafter, "reviewer": reviewer,
            "auditor": auditor, "root": superuser}


def url_for(name: str, campaign: Campaign | None) -> str:
    """Fill every <int:…> of the pattern with a real id belonging to ``campaign``."""
    converters = _patterns()[name].pattern.converters
    ids = {}
    for arg in converters:
        if arg == "pk":
            ids[arg] = campaign.pk
        elif arg == "attachment_pk":
            ids[arg] = campaign.attachments.get().pk
        elif arg == "recipient_pk":
            ids[arg] = campaign.recipients.order_by("row_number").first().pk
        elif arg == "key":  # a finding of the campaign's current (draft) or stored (submitted) findings
            ids[arg] = displayed(run_preflight(campaign) if campaign.is_editable else campaign.findings)[0]["key"]
        else:  # a new parameter needs a real object here and rows in TABLE
            raise AssertionError(f"no test object for <{arg}> of {name}")
    return reverse(name, kwargs=ids)


@pytest.fixture
def make_object(owner, sender):
    def make(obj: str | None):
        if obj is None:
            return None
        return campaign_with_attachment(owner, sender, submitted=(obj == "in_review"))
    return make


def test_the_table_covers_every_url_of_the_app():
    assert set(TABLE) == set(_patterns()), "add the new URL to TABLE with its expected codes"
    for name in TABLE:
        assert len(TABLE[name]) == 1 + len(ACTORS)


@pytest.mark.parametrize(("name", "actor", "obj"), list(_cases(TABLE)))
def test_url_role_matrix(name, actor, obj, people, make_object, client_for):
    url = url_for(name, make_object(obj))
    client = client_for(people[actor])
    method = TABLE[name][0]
    if method == "GET":
        response = client.get(url)
    else:
        response = client.post(url, POST_DATA.get(name, {}))
    expected = _expected(name, actor, obj)
    assert response.status_code == expected, f"{method} {url} as {actor}"
    if response.status_code == 302:
        signed_out = response["Location"].startswith(reverse("login"))
        assert signed_out == (actor == "anon"), response["Location"]


READ_ONLY = [name for name in TABLE if name.startswith("audit_")]


@pytest.mark.parametrize("name", READ_ONLY)
def test_audit_pages_are_read_only(name, people, make_object, client_for):
    """The auditor's pages change nothing, so they accept no POST at all."""
    campaign = make_object("in_review") if _takes_campaign(name) else None
    assert client_for(people["auditor"]).post(url_for(name, campaign)).status_code == 405


@pytest.mark.parametrize(("name", "actor", "obj"), list(_cases(POST_ONLY, ("in_review",))))
def test_actions_refuse_get(name, actor, obj, people, make_object, client_for):
    campaign = make_object(obj)
    state = campaign.state
    response = client_for(people[actor]).get(url_for(name, campaign))
    assert response.status_code == 405
    campaign.refresh_from_db()
    assert campaign.state == state


@pytest.mark.parametrize("name", sorted(TABLE))
def test_post_without_csrf_token_is_refused(name, people, make_object):
    """Every URL (actions and pages with forms alike) refuses a POST without the CSRF token,
    sent by a person the table lets through, so the 403 is the CSRF check's."""
    obj = "in_review" if _takes_campaign(name) else None
    campaign = make_object(obj)
    actor = next(a for a in ACTORS[1:] if _expected(name, a, obj) not in (403, 404, 405))
    user = people[actor]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    before = (Campaign.objects.count(), campaign.state if campaign else None)
    response = strict.post(url_for(name, campaign), POST_DATA.get(name, {}))
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()
    if campaign:
        campaign.refresh_from_db()
    assert (Campaign.objects.count(), campaign.state if campaign else None) == before


def test_the_same_post_with_a_csrf_token_goes_through(people, make_object):
    """The CSRF test above is meaningful: with the token, the reviewer's reject works."""
    campaign = make_object("in_review")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(people["reviewer"])
    page = strict.get(reverse("review", args=[campaign.pk]))
    token = page.cookies["csrftoken"].value
    response = strict.post(reverse("reject", args=[campaign.pk]),
                           {"comment": "Fix it", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.state == Campaign.State.REJECTED


@pytest.mark.parametrize("name", ["attachment_download", "attachment_remove", "preview_html"])
def test_a_child_object_of_another_campaign_is_not_found(name, people, owner, other_drafter, sender, client_for):
    """Ids are checked against the campaign in the URL: a visible campaign's id with another
    campaign's attachment or recipient id is 404, even for an auditor who may see both."""
    mine = campaign_with_attachment(owner, sender, submitted=False)
    theirs = campaign_with_attachment(other_drafter, sender, submitted=False)
    kwargs = {"pk": mine.pk}
    if "attachment_pk" in _patterns()[name].pattern.converters:
        kwargs["attachment_pk"] = theirs.attachments.get().pk
    else:
        kwargs["recipient_pk"] = theirs.recipients.first().pk
    url = reverse(name, kwargs=kwargs)
    actors = ["owner"] + (["auditor"] if TABLE[name][5] != 403 else [])
    for actor in actors:
        client = client_for(people[actor])
        response = client.post(url) if TABLE[name][0] == "POST" else client.get(url)
        assert response.status_code == 404, actor
    assert theirs.attachments.count() == 1


@pytest.mark.parametrize(("actor", "target"), [
    ("anon", "login"), ("owner", "campaign_list"), ("reviewer", "review_queue"),
    ("auditor", "audit_campaigns"), ("root", "admin:index"),
])
def test_home_sends_each_person_to_their_own_start_page(actor, target, people, client_for):
    response = client_for(people[actor]).get(reverse("home"))
    assert response.status_code == 302 and response["Location"] == reverse(target)


def test_admin_is_for_staff_only(people, client_for):
    for actor in ("owner", "reviewer", "auditor"):
        response = client_for(people[actor]).get("/admin/")
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client_for(people["root"]).get("/admin/").status_code == 200
