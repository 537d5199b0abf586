"""Two-factor sign-in pages: set up an authenticator app (TOTP), then enter its code.

See approvals.otp for who must pass them. The set-up page shows the secret as
text (an ``otpauth://`` URI and the base32 key), which every authenticator app
accepts by hand; it is only shown while the account has no confirmed device.
"""

from base64 import b32encode
from urllib.parse import urlencode

import django_otp
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..otp import confirmed_device, is_verified

DEVICE_NAME = "MailGuard"


class TokenForm(forms.Form):
    token = forms.RegexField(
        label=gettext_lazy("6-digit code from your authenticator app"),
        regex=r"^\s*\d{6,8}\s*$",
        max_length=12,
        error_messages={"invalid": gettext_lazy("Enter the 6-digit code your authenticator app shows.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                      "autofocus": True}),
    )

    def clean_token(self) -> str:
        return self.cleaned_data["token"].strip()


def _next_url(request) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _with_next(view_name: str, request) -> str:
    return resolve_url(view_name) + "?" + urlencode({"next": _next_url(request)})


def _signed_in_with(request, device: TOTPDevice):
    """Mark this session as verified by ``device`` (a new session key, as after a password)."""
    request.session.cycle_key()
    django_otp.login(request, device)
    return redirect(_next_url(request))


def _wrong_code(form: TokenForm) -> None:
    # One message for a wrong, reused or throttled code: nothing to learn from it.
    form.add_error("token", _("That code was not accepted. Wait for the next code and try again."))


def _grouped(secret: str) -> str:
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


@login_required
def otp_setup(request):
    """Create (once) an unconfirmed TOTP device and confirm it with a code from the app."""
    user = request.user
    if confirmed_device(user) is not None:
        # Adding or replacing a device is an administrator's job (delete it in the admin).
        return redirect(_with_next("otp_verify", request))
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            messages.success(request, _("Two-factor sign-in is set up."))
            return _signed_in_with(request, device)
        _wrong_code(form)
    secret = b32encode(device.bin_key).decode("ascii")
    return render(request, "account/otp_setup.html", {
        "form": form,
        "config_url": device.config_url,
        "secret": _grouped(secret),
        "next": _next_url(request),
    })


@login_required
def otp_verify(request):
    """Enter the current code of the confirmed device."""
    user = request.user
    if is_verified(user):
        return redirect(_next_url(request))
    devices = list(TOTPDevice.objects.devices_for_user(user, confirmed=True))
    if not devices:
        return redirect(_with_next("otp_setup", request))
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        for device in devices:
            if device.verify_token(form.cleaned_data["token"]):
                return _signed_in_with(request, device)
        _wrong_code(form)
    return render(request, "account/otp_verify.html", {"form": form, "next": _next_url(request)})
