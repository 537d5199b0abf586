"""Rules for every request: how long a session lasts, who is acting, and that nothing is cached."""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _

from . import account_audit

STARTED = "mailguard_session_started"
LAST_ACTIVITY = "mailguard_last_activity"
# Remember activity at most this often: a session write per request would be wasted work.
ACTIVITY_RESOLUTION_SECONDS = 30


def passive(view: Callable) -> Callable:
    """Mark a view that pages poll on their own (progress): it keeps no session alive."""
    view.passive_request = True
    return view


class SessionLimitsMiddleware:
    """Sign out after ``SESSION_IDLE_SECONDS`` without activity and ``SESSION_MAX_SECONDS`` in all.

    An open page that polls for progress is not activity: an unattended screen signs out too.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not request.user.is_authenticated:
            return None
        session, now = request.session, time.time()
        started = session.get(STARTED)
        if started is None:
            session[STARTED] = session[LAST_ACTIVITY] = now
            return None
        idle = now - session.get(LAST_ACTIVITY, started)
        if idle > settings.SESSION_IDLE_SECONDS or now - started > settings.SESSION_MAX_SECONDS:
            logout(request)
            messages.info(request, _("You were signed out: the session ended. Please sign in again."))
            return None  # the view now sees an anonymous user and sends them to sign in
        if idle > ACTIVITY_RESOLUTION_SECONDS and not getattr(view_func, "passive_request", False):
            session[LAST_ACTIVITY] = now
        return None


class ActorMiddleware:
    """Audit events of account and settings changes name the person whose request made them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with account_audit.acting(lambda: getattr(request, "user", None)):
            return self.get_response(request)


class NoStoreMiddleware:
    """``Cache-Control: no-store`` (and private, no-cache) on every page and download the app serves.

    Review pages, campaign pages and ledger exports carry recipients' personal data; one
    rule for all responses leaves no page to forget. Static files never reach it (WhiteNoise
    answers them first).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        add_never_cache_headers(response)
        return response
