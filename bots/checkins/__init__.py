"""Safety check-ins: timers, escalation to trusted contacts, duress PINs and roll calls."""

from bots.checkins.plugin import CheckinsPlugin

__all__ = ["CheckinsPlugin"]
