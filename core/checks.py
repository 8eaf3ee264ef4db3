"""Reusable command checks, declared beside a handler: `@command(..., checks=[in_dm])`.

A check is `async (ctx) -> None`; it raises Refusal with a catalog key when
the command may not run for this sender here. Roles and network roles are
options of @command itself; these cover what those options cannot say.
"""

from __future__ import annotations

from core.i18n import Trusted
from core.plugin import Context, Refusal
from core.roles import Role

_ROLE_NAMES = {"member": Role.MEMBER, "moderator": Role.MODERATOR, "admin": Role.ADMIN}


async def in_dm(ctx: Context) -> None:
    """Only in the sender's direct chat with the bot (a room of exactly the two)."""
    if not ctx.plugin.runtime.dms.is_dm(ctx.room_id):
        raise Refusal("command_dm_only")


class RoleFromSetting:
    """The room role named by a plugin setting; see `role_from_setting`."""

    def __init__(self, field: str) -> None:
        self.field = field
        self.__qualname__ = f"role_from_setting({field!r})"

    def needed(self, ctx: Context) -> Role:
        name = str(getattr(ctx.settings, self.field)).lower()
        return _ROLE_NAMES.get(name, Role.ADMIN)  # an unreadable value keeps it closed

    async def __call__(self, ctx: Context) -> None:
        needed = self.needed(ctx)
        if ctx.role < needed:
            role = ctx.t("role_admin" if needed is Role.ADMIN else "role_moderator")
            raise Refusal("not_allowed_role", role=Trusted(role))


def role_from_setting(field: str) -> RoleFromSetting:
    """The room role named by the plugin setting `field` ("member", "moderator" or "admin").

    For plugins whose admins choose who may use them (`!config admin min_role admin`).
    A refusal by the command's own `min_role` names this role when it is higher.
    """
    return RoleFromSetting(field)
