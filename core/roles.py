"""Who may do what: roles from a room's power levels, plus organizers from config."""

from __future__ import annotations

import enum

from core.config import RolesConfig


class Role(enum.IntEnum):
    """Ordered roles; a command's `min_role` admits that role and those above."""

    MEMBER = 0
    MODERATOR = 1
    ADMIN = 2


def role_for_level(level: int, roles: RolesConfig) -> Role:
    if level >= roles.admin_level:
        return Role.ADMIN
    if level >= roles.moderator_level:
        return Role.MODERATOR
    return Role.MEMBER


def is_organizer(user_id: str, roles: RolesConfig) -> bool:
    return user_id in roles.organizers
