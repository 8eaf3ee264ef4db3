"""Reusable command checks, declared beside a handler: `@command(..., checks=[in_dm])`.

A check is `async (ctx) -> None`; it raises Refusal with a catalog key when
the command may not run for this sender here. Roles and network roles are
options of @command itself; these cover what those options cannot say.
"""

from __future__ import annotations

from core.i18n import Trusted
from core.plugin import Check, Context, Refusal
from core.roles import Role

_ROLE_NAMES = {"member": Role.MEMBER, "moderator": Role.MODERATOR, "admin": Role.ADMIN}


async def in_dm(ctx: Context) -> None:
    """Only in the sender's direct chat with the bot (a room of exactly the two)."""
    if not ctx.plugin.runtime.dms.is_dm(ctx.room_id):
        raise Refusal("command_dm_only")


def role_from_setting(field: str) -> Check:
    """The room role named by the plugin setting `field` ("member", "moderator" or "admin").

    For plugins whose admins choose who may use them (`!config admin min_role admin`).
    """

    async def check(ctx: Context) -> None:
        name = str(getattr(ctx.settings, field)).lower()
        needed = _ROLE_NAMES.get(name, Role.ADMIN)  # an unreadable value keeps it closed
        if ctx.role < needed:
            role = ctx.t("role_admin" if needed is Role.ADMIN else "role_moderator")
            raise Refusal("not_allowed_role", role=Trusted(role))

    check.__qualname__ = f"role_from_setting({field!r})"
    return check
