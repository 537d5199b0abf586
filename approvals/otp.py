"""Two-factor sign-in: reviewers, auditors and administrators must enter a TOTP code.

A password alone must not be enough to approve a send or to read the delivery
ledger. ``TwoFactorMiddleware`` runs after django-otp's ``OTPMiddleware`` (which
sets ``request.user.is_verified()``) and sends every such user whose session has
not entered a code to the set-up page (no confirmed authenticator yet) or the
verification page. Only signing in and out, those two pages and the language
switch stay reachable. ``settings.MAILGUARD_REQUIRE_2FA`` turns the rule on; it
defaults to ``MAILGUARD_PRODUCTION`` (the embedded demo leaves it off).
"""

from urllib.parse import urlencode

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from .roles import Role, has_role

# Views an unverified user may still reach (URL names).
EXEMPT_URL_NAMES = frozenset({"login", "logout", "otp_setup", "otp_verify", "set_language",
                              "public_download", "public_unsubscribe"})


def two_factor_required() -> bool:
    return bool(getattr(settings, "MAILGUARD_REQUIRE_2FA", False))


def needs_two_factor(user) -> bool:
    """True for the people whose accounts can approve, audit or administer."""
    if not user.is_authenticated or not user.is_active:
        return False
    return bool(user.is_superuser or user.is_staff
                or has_role(user, Role.REVIEWER) or has_role(user, Role.AUDITOR))


def is_verified(user) -> bool:
    check = getattr(user, "is_verified", None)
    return bool(check and check())


def confirmed_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


class TwoFactorMiddleware:
    """Redirect users who need two-factor sign-in and have not passed it yet."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not two_factor_required():
            return None
        match = request.resolver_match
        if match is not None and match.view_name in EXEMPT_URL_NAMES:
            return None
        user = request.user
        if not needs_two_factor(user) or is_verified(user):
            return None
        target = reverse("otp_verify" if confirmed_device(user) else "otp_setup")
        if request.method == "GET":
            target += "?" + urlencode({"next": request.get_full_path()})
        return redirect(target)
