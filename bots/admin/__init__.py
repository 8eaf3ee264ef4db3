"""Room admins turn plugins on and off and change their settings from chat."""

from bots.admin.plugin import AdminPlugin

__all__ = ["AdminPlugin"]
