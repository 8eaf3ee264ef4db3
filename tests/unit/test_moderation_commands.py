"""Moderation's commands on the plugin SDK: groups keep their words, the guard is declared once.

`!policy`, `!filters` and `!raid` became command groups; typed alone they
still do what they always did. Who may command moderation where (`reaches`)
is a check on every moderators' command rather than a line in each handler.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.access import MODERATORS, reaches
from bots.moderation.messages import CATALOG
from core.testing import PluginHarness
from tests.unit.test_moderation_authority import (
    EVIL,
    LIST,
    MODS,
    NET,
    NETMOD,
    VICTIM,
    answer,
    reply,
    running,
)

MODERATOR = "@attacker:evil.org"  # a moderator of NET (level 50), admin of EVIL


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with running(tmp_path) as h:
        yield h


def en(h: PluginHarness, key: str) -> str:
    """The catalog's English text as the bot sends it (commands with the operator's prefix)."""
    return h.plugin(ModerationPlugin).show_commands(CATALOG.text(key, "en"))


async def said(h: PluginHarness, room: str, sender: str, line: str) -> str:
    """The reply's body as sent (to compare with the catalog's text)."""
    return (await answer(h, room, sender, line)).body


async def test_groups_typed_alone_do_what_they_always_did(bot: PluginHarness) -> None:
    assert await said(bot, NET, MODERATOR, "!raid") == en(bot, "no_raid")
    assert await said(bot, NET, MODERATOR, "!raid status") == en(bot, "no_raid")
    assert await said(bot, NET, MODERATOR, "!filters") == en(bot, "rules_empty")
    listed = await said(bot, NET, MODERATOR, "!policy")
    assert listed == await said(bot, NET, MODERATOR, "!policy list")
    assert en(bot, "own_list_none") in listed


async def test_filters_add_and_remove_by_subcommand(bot: PluginHarness) -> None:
    assert "1" in await reply(bot, NET, MODERATOR, "!filters add word scam link")
    assert "scam link" in await reply(bot, NET, MODERATOR, "!filters")
    # Missing kind or text: told how to write it, nothing stored.
    assert await said(bot, NET, MODERATOR, "!filters add word") == en(bot, "rules_usage")
    assert await said(bot, NET, MODERATOR, "!filters remove") == en(bot, "rules_usage")
    assert "0" in await reply(bot, NET, MODERATOR, "!filters remove word 1")
    assert await said(bot, NET, MODERATOR, "!filters") == en(bot, "rules_empty")


async def test_an_unknown_subcommand_lists_the_ones_there_are(bot: PluginHarness) -> None:
    listed = await reply(bot, NET, MODERATOR, "!raid maybe")
    assert "maybe" in listed and "raid on" in listed and "raid off" in listed


async def test_every_moderators_command_is_guarded_by_the_same_check(bot: PluginHarness) -> None:
    commands = {spec.path: spec for spec in ModerationPlugin.commands()}
    guarded = {path for path, spec in commands.items() if reaches in spec.checks}
    assert {"ban", "unban", "kick", "mute", "unmute", "redact", "warn", "modlog", "raid on",
            "raid off", "raid status", "policy list", "policy subscribe", "policy publish",
            "policy unsubscribe"} <= guarded
    assert MODERATORS["checks"] == (reaches,)
    # A network moderator outside the network's rooms is refused by it, before anything.
    await bot.join(EVIL, NETMOD)
    for line in ("!raid on", f"!ban {VICTIM}", f"!policy subscribe {LIST}", "!modlog"):
        assert await said(bot, EVIL, NETMOD, line) == en(bot, "network_rooms_only"), line
    assert bot.homeserver.calls == []
    # In the moderators' room, the same person reads the network's log.
    assert await said(bot, MODS, NETMOD, "!modlog") == en(bot, "modlog_empty")


async def test_a_bad_target_is_a_usage_error_naming_the_form(bot: PluginHarness) -> None:
    refused = await reply(bot, NET, MODERATOR, "!ban alice spam")
    assert "Matrix user id written in full" in refused and "!ban <user> [reason]" in refused
    assert bot.homeserver.calls == []
    # `--all` before the user is read as the flag, not as the user.
    refused = await reply(bot, NET, MODERATOR, f"!kick --all {VICTIM}")
    assert "Only the network's moderators" in refused
