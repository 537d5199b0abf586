"""Pages for recipients, reached from a message without an account (see approvals.views.public).

Kept apart from approvals/urls.py, where every page needs a signed-in person with a role.
"""

from django.urls import path

from .views import public

urlpatterns = [
    path("files/<str:token>/", public.download, name="public_download"),
    path("unsubscribe/<str:token>/", public.unsubscribe_page, name="public_unsubscribe"),
]
