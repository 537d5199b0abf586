"""Subject and body of a notification, in the recipient's language.

Templates live in ``templates/approvals/notifications/<kind>.txt``: the first line
is the subject, the rest the body. They are rendered by an engine without HTML
escaping (this is plain text; campaign names keep their "&" and "<"), and the
subject is folded to one line so nothing a drafter typed can add a header.
"""

from functools import lru_cache

from django.conf import settings
from django.template import Context, Engine
from django.urls import reverse
from django.utils import translation

SUBJECT_MAX = 250


@lru_cache(maxsize=1)
def _engine() -> Engine:
    return Engine(dirs=[str(d) for d in settings.TEMPLATES[0]["DIRS"]], app_dirs=True, autoescape=False,
                  libraries={"i18n": "django.templatetags.i18n"})


def render(kind: str, context: dict, language: str) -> tuple[str, str]:
    context = {"settings_url": settings.MAILGUARD["BASE_URL"] + reverse("notification_settings"), **context}
    with translation.override(language):
        text = _engine().get_template(f"approvals/notifications/{kind}.txt").render(Context(context))
    subject, _newline, body = text.strip().partition("\n")
    return " ".join(subject.split())[:SUBJECT_MAX], body.strip() + "\n"
