"""Audit events for every change to accounts, roles, sender identities and internal domains.

Whoever administers MailGuard decides who may approve and what is sent from
where, so these changes go into the same keyed chain as the campaigns' actions:
accounts created, changed (never the password itself, only that it changed) and
deleted; roles granted and revoked; groups and their permissions; sender
identities and internal domains. Django's model signals catch the change however
it is made (the admin, a shell, a command). The actor is the signed-in person
whose request made it (``approvals.middleware.ActorMiddleware`` sets it with
``acting``); outside a request it is "system".

Limit: ``QuerySet.update()`` and raw SQL send no signals; neither the app nor the
admin changes these models that way.
"""

import contextlib
import contextvars
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from . import audit
from .models import InternalDomain, SenderIdentity

_actor: contextvars.ContextVar[Callable | None] = contextvars.ContextVar("mailguard_actor", default=None)

# model -> (event prefix, the fields whose changes are recorded)
TRACKED: dict[type, tuple[str, tuple[str, ...]]] = {}
SECRET_FIELDS = {"password"}


@contextlib.contextmanager
def acting(user_getter: Callable):
    """Name the person behind the changes made inside this block (a callable, resolved when needed)."""
    token = _actor.set(user_getter)
    try:
        yield
    finally:
        _actor.reset(token)


def _current_actor():
    getter = _actor.get()
    user = getter() if getter else None
    return user if user is not None and user.is_authenticated else None


def _snapshot(instance, fields: tuple[str, ...]) -> dict:
    return {field: getattr(instance, field) for field in fields}


def _before_save(sender, instance, **kwargs) -> None:
    _prefix, fields = TRACKED[sender]
    previous = sender._default_manager.filter(pk=instance.pk).first() if instance.pk else None
    instance._mailguard_before = _snapshot(previous, fields) if previous is not None else None


def _after_save(sender, instance, created, update_fields=None, **kwargs) -> None:
    prefix, fields = TRACKED[sender]
    after = _snapshot(instance, fields)
    before = getattr(instance, "_mailguard_before", None)
    if created or before is None:
        shown = {f: v for f, v in after.items() if f not in SECRET_FIELDS}
        audit.record(f"{prefix}_created", actor=_current_actor(), **_subject(sender, instance), values=shown)
        return
    changed = {
        field: ("(changed)" if field in SECRET_FIELDS else [before[field], after[field]])
        for field in fields if before[field] != after[field]
    }
    if changed:
        audit.record(f"{prefix}_changed", actor=_current_actor(), **_subject(sender, instance), changed=changed)


def _after_delete(sender, instance, **kwargs) -> None:
    prefix, fields = TRACKED[sender]
    shown = {f: v for f, v in _snapshot(instance, fields).items() if f not in SECRET_FIELDS}
    audit.record(f"{prefix}_deleted", actor=_current_actor(), **_subject(sender, instance), values=shown)


def _subject(sender, instance) -> dict:
    return {"object_id": instance.pk, "object": str(instance)}


# --- Roles: group membership -------------------------------------------------------------------


def _membership_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    """user.groups.add/remove/clear and group.user_set.add/remove/clear, as grants and revocations."""
    if action == "pre_clear":
        related = instance.user_set if reverse else instance.groups
        instance._mailguard_cleared = set(related.values_list("pk", flat=True))
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    ids = getattr(instance, "_mailguard_cleared", set()) if action == "post_clear" else set(pk_set or ())
    granted = action == "post_add"
    for other in model._default_manager.filter(pk__in=ids).order_by("pk"):
        user, group = (other, instance) if reverse else (instance, other)
        _record_role_change(user, group, granted)


def _record_role_change(user, group: Group, granted: bool) -> None:
    audit.record(
        "role_granted" if granted else "role_revoked", actor=_current_actor(),
        user_id=user.pk, username=user.get_username(), role=group.name,
    )


def _permissions_changed(sender, instance, action, reverse, model, pk_set, **kwargs) -> None:
    if action not in ("post_add", "post_remove", "post_clear") or reverse:
        return
    names = sorted(model._default_manager.filter(pk__in=pk_set or ()).values_list("codename", flat=True))
    audit.record(
        "permissions_changed", actor=_current_actor(), **_subject(type(instance), instance),
        change=action.removeprefix("post_"), permissions=names,
    )


def connect() -> None:
    """Called once from AppConfig.ready."""
    User = get_user_model()
    TRACKED.update({
        User: ("user", ("username", "email", "first_name", "last_name", "is_active", "is_staff",
                        "is_superuser", "password")),
        Group: ("group", ("name",)),
        SenderIdentity: ("sender_identity", ("display_name", "email", "active")),
        InternalDomain: ("internal_domain", ("domain",)),
    })
    for model in TRACKED:
        uid = f"mailguard-audit-{model._meta.label_lower}"
        pre_save.connect(_before_save, sender=model, dispatch_uid=uid + "-pre")
        post_save.connect(_after_save, sender=model, dispatch_uid=uid + "-post")
        post_delete.connect(_after_delete, sender=model, dispatch_uid=uid + "-delete")
    m2m_changed.connect(_membership_changed, sender=User.groups.through, dispatch_uid="mailguard-audit-roles")
    m2m_changed.connect(_permissions_changed, sender=Group.permissions.through,
                        dispatch_uid="mailguard-audit-group-permissions")
    m2m_changed.connect(_permissions_changed, sender=User.user_permissions.through,
                        dispatch_uid="mailguard-audit-user-permissions")
