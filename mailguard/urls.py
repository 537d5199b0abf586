"""Top-level URLs: the approvals app, authentication (password, then TOTP), admin and language switch.

Uploaded files are deliberately not served by any URL here (no MEDIA_URL route):
only approvals.views.campaign.attachment_download streams them, after its checks.
"""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from approvals.delivery import tracking
from approvals.views import account

urlpatterns = [
    path("", include("approvals.urls")),
    # Recipients' download and unsubscribe links: no account, a signed token each.
    path("", include("approvals.public_urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    # Two-factor sign-in (TOTP) for reviewers, auditors and administrators: approvals.otp.
    path("accounts/2fa/setup/", account.otp_setup, name="otp_setup"),
    path("accounts/2fa/verify/", account.otp_verify, name="otp_verify"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # ESP tracking webhooks (delivered, bounced, complained…): anymail's tracking views, failing
    # closed without ANYMAIL_WEBHOOK_SECRET, size-capped, 400 for bodies they cannot read.
    path("anymail/", include((tracking.urlpatterns, "anymail"))),
]
