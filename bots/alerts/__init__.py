"""Organizer alerts: broadcasts to every room of the network, with acknowledgements."""

from bots.alerts.plugin import AlertsPlugin

__all__ = ["AlertsPlugin"]
