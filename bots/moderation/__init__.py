"""Moderation for a network of encrypted rooms: commands, protections, policy lists, reports."""

from bots.moderation.plugin import ModerationPlugin

__all__ = ["ModerationPlugin"]
