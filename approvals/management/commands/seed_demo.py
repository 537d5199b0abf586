"""Create the roles, a sender identity, an internal domain and one demo user per role.

Passwords are random and printed once, when the users are created; running the
command again changes nothing and prints nothing secret.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from approvals.models import InternalDomain, SenderIdentity, UserProfile
from approvals.roles import Role

DEMO_USERS = [
    ("drafter", [Role.DRAFTER], False),
    ("reviewer1", [Role.REVIEWER], False),
    ("reviewer2", [Role.REVIEWER], False),
    ("auditor", [Role.AUDITOR], False),
    ("admin", [], True),
]


def ensure_groups() -> dict[Role, Group]:
    return {role: Group.objects.get_or_create(name=role.value)[0] for role in Role}


class Command(BaseCommand):
    help = "Create demo users (one per role), a sender identity and an internal domain."

    def handle(self, *args, **options):
        groups = ensure_groups()
        SenderIdentity.objects.get_or_create(
            email="info@example.jp", defaults={"display_name": "MailGuard デモ事務局"}
        )
        InternalDomain.objects.get_or_create(domain="example.jp")
        created = []
        User = get_user_model()
        for username, roles, is_admin in DEMO_USERS:
            if User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(9)
            if is_admin:
                user = User.objects.create_superuser(username, f"{username}@example.jp", password)
            else:
                user = User.objects.create_user(username, f"{username}@example.jp", password)
            user.groups.set([groups[role] for role in roles])
            # The demo drafter sends to lists of its own choosing: out of trial mode from the start.
            UserProfile.objects.filter(user=user).update(trial_mode=False)
            created.append((username, password))
        if created:
            self.stdout.write("Demo users (shown once, keep them):")
            for username, password in created:
                self.stdout.write(f"  {username:<10} {password}")
        else:
            self.stdout.write("Demo users already exist.")
