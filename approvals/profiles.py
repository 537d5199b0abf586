"""Each person's profile: the language of mail to them, the notifications they turned off, trial mode.

Every user gets a profile when the account is created (trial mode as
``MAILGUARD_TRIAL_FOR_NEW_DRAFTERS`` says); accounts that existed before profiles
did got one, out of trial mode, in the migration that added them.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models.signals import post_save

from .models import UserProfile


def new_account_trial_mode() -> bool:
    return settings.MAILGUARD["TRIAL_FOR_NEW_DRAFTERS"]


def profile_of(user) -> UserProfile:
    profile, _created = UserProfile.objects.get_or_create(
        user=user, defaults={"trial_mode": new_account_trial_mode()})
    return profile


def _create_profile(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    if created and not raw:
        UserProfile.objects.get_or_create(user=instance, defaults={"trial_mode": new_account_trial_mode()})


def connect() -> None:
    post_save.connect(_create_profile, sender=get_user_model(), dispatch_uid="mailguard_profile")
