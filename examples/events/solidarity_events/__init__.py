"""An installable Solidarity plugin: room events with RSVP by reaction and a reminder by DM."""

from solidarity_events.plugin import EventsPlugin

__all__ = ["EventsPlugin"]
