"""Top-level URLs: the approvals app, authentication, admin and language switch."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("approvals.urls")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # ESP tracking webhooks (delivered, bounced, complained…), authenticated by anymail.
    path("anymail/", include("anymail.urls")),
]
