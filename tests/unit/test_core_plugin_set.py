"""The shipped plugins load together: discovery finds them and their commands never collide."""

from __future__ import annotations

from core.builtin import CorePlugin
from core.discovery import discover_plugins


def test_every_shipped_plugin_is_discovered() -> None:
    names = {plugin.name for plugin in discover_plugins()}
    assert {"admin", "onboarding", "resources", "checkins", "moderation", "alerts"} <= names


def test_no_two_plugins_claim_the_same_command() -> None:
    owners: dict[str, str] = {}
    clashes = []
    for plugin in [CorePlugin, *discover_plugins()]:
        for spec in plugin.commands():
            # A subcommand's word is its own group's; the group's word is what is routed.
            words = (spec.group.name, *spec.group.aliases) if spec.group else (spec.name,
                                                                               *spec.aliases)
            for name in words:
                if name in owners and owners[name] != plugin.name:
                    clashes.append(f"!{name}: {owners[name]} and {plugin.name}")
                owners.setdefault(name, plugin.name)
    assert clashes == []
