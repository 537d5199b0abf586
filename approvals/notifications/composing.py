"""Subject and body of a notification, in the recipient's language.

Templates live in ``templates/approvals/notifications/<kind>.txt``: the first line
is the subject, the rest the body. They are files of ours, never built from text
anyone typed; values such as campaign names are context variables. The context is
rendered without HTML escaping (this is plain text: a campaign called "A&B" stays
"A&B"), and the subject is folded to one line so nothing a drafter typed can add
a header.
"""

from django.conf import settings
from django.template import Context
from django.template.loader import get_template
from django.urls import reverse
from django.utils import translation

SUBJECT_MAX = 250


def render(kind: str, context: dict, language: str) -> tuple[str, str]:
    context = {"settings_url": settings.MAILGUARD["BASE_URL"] + reverse("notification_settings"), **context}
    # The configured engine's own template object, so the context can turn HTML escaping off.
    template = get_template(f"approvals/notifications/{kind}.txt").template
    with translation.override(language):
        text = template.render(Context(context, autoescape=False))
    subject, _newline, body = text.strip().partition("\n")
    return " ".join(subject.split())[:SUBJECT_MAX], body.strip() + "\n"
