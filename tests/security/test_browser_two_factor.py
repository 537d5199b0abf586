"""Two-factor set-up and sign-in in a real browser, reading the key off the page as a person would."""

from base64 import b32decode

import pytest
from django_otp.oath import hotp, totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.conftest import sign_in

pytestmark = pytest.mark.browser


def app_code(secret_text: str, steps_ahead: int = 0) -> str:
    """What an authenticator app shows for the key typed in from the set-up page."""
    key = b32decode("".join(secret_text.split()))
    return f"{totp(key, drift=steps_ahead):06d}"


def next_code(device: TOTPDevice) -> str:
    """The code of the step after the one just used: never a replay, and inside the device's
    window even when a 30-second boundary passed and django-otp adjusted its drift."""
    return f"{hotp(device.bin_key, device.last_t + 1):06d}"


def test_reviewer_sets_up_an_authenticator_then_signs_in_with_it(new_page, transactional_db, two_factor, reviewer):
    page = new_page("en-US")
    sign_in(page, "reviewer", "pw-reviewer")
    assert "/accounts/2fa/setup/" in page.url
    secret = page.inner_text("#otp-secret")
    assert page.text_content("#otp-uri").startswith("otpauth://totp/")
    page.fill("#otp-form input[name=token]", "000000" if app_code(secret) != "000000" else "111111")
    page.click("#otp-form button[type=submit]")
    assert "/accounts/2fa/setup/" in page.url
    assert not TOTPDevice.objects.get(user=reviewer).confirmed
    page.wait_for_timeout(1100)  # the throttle after a wrong code
    page.fill("#otp-form input[name=token]", app_code(secret))
    page.click("#otp-form button[type=submit]")
    page.wait_for_url("**/review/")
    assert TOTPDevice.objects.get(user=reviewer).confirmed

    # A new sign-in (another browser) asks for the next code, not the set-up again.
    other = new_page("en-US")
    sign_in(other, "reviewer", "pw-reviewer")
    assert "/accounts/2fa/verify/" in other.url
    assert other.locator("#otp-secret").count() == 0
    other.fill("#otp-form input[name=token]", next_code(TOTPDevice.objects.get(user=reviewer)))
    other.click("#otp-form button[type=submit]")
    other.wait_for_url("**/review/")
