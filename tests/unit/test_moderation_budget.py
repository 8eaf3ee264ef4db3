"""Bounded work per message, through the plugin: refusing slow patterns and too many of them
(`!filters`, and the settings `!config moderation patterns` writes), stored ones dropped at
start, and a message that spends its budget counted as no match, logged without its text."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.moderation import ModerationPlugin
from bots.moderation.settings import ModerationSettings
from bots.moderation.textrules import HAS_TIMEOUT, MAX_PATTERNS, TextRules
from core.room_settings import SettingError
from core.testing import PluginHarness
from tests.unit.test_moderation_authority import (
    ATTACKER,
    MEMBER,
    MODS,
    NET,
    posted_to,
    reply,
    running,
)

SLOW = r"(b+)\1*c"


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with running(tmp_path) as h:
        yield h


def patterns(h: PluginHarness) -> list[str]:
    settings: ModerationSettings = h.plugin(ModerationPlugin).settings_for(NET)
    return settings.patterns


async def test_filters_refuses_the_backreference_pattern_in_the_moderators_language(
        bot: PluginHarness) -> None:
    answer = await reply(bot, NET, ATTACKER, f"!filters add pattern {SLOW}")
    assert "refers back to a group of any length" in answer and "Nothing was changed" in answer
    await bot.set_language(ATTACKER, "ar")
    arabic = await reply(bot, NET, ATTACKER, f"!filters add pattern {SLOW}")
    assert "غير محدودة الطول" in arabic
    assert patterns(bot) == []


async def test_config_refuses_the_backreference_pattern_and_too_many_patterns(bot: PluginHarness) -> None:
    # What `!config moderation patterns [...]` calls: the refusal is in both languages.
    settings = bot.runtime.settings
    with pytest.raises(SettingError) as caught:
        await settings.set_value(NET, ModerationPlugin, "patterns", json.dumps([SLOW]))
    assert "refers back to a group of any length" in caught.value.problems[0]
    assert "غير محدودة الطول" in caught.value.problems[0]
    many = json.dumps([f"word{n}" for n in range(MAX_PATTERNS + 1)])
    with pytest.raises(SettingError) as caught:
        await settings.set_value(NET, ModerationPlugin, "patterns", many)
    assert f"at most {MAX_PATTERNS} patterns per room ({MAX_PATTERNS + 1} given)" in \
        caught.value.problems[0]
    assert patterns(bot) == []


async def test_filters_refuses_a_pattern_over_the_cap(bot: PluginHarness) -> None:
    full = json.dumps([f"word{n}" for n in range(MAX_PATTERNS)])
    await bot.runtime.settings.set_value(NET, ModerationPlugin, "patterns", full)
    answer = await reply(bot, NET, ATTACKER, "!filters add pattern one-too-many")
    assert f"at most {MAX_PATTERNS} patterns per room" in answer and "Nothing was changed" in answer
    assert len(patterns(bot)) == MAX_PATTERNS


async def test_patterns_stored_before_the_stronger_checks_are_dropped_at_start(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async with running(tmp_path) as bot:
        await bot.db.execute(
            "INSERT INTO core_room_settings (room_id, plugin, key, value) VALUES (?, ?, ?, ?)",
            (NET, "moderation", "patterns", json.dumps(["spam\\d+", SLOW, "scam"])))
        with caplog.at_level(logging.WARNING, logger="bots.moderation"):
            await bot.restart()
        assert patterns(bot) == ["spam\\d+", "scam"]
        assert any("p2 of !net:x" in record.getMessage() for record in caplog.records)
        assert not any(SLOW in record.getMessage() for record in caplog.records)


@pytest.mark.skipif(not HAS_TIMEOUT, reason="needs the regex module")
async def test_a_message_that_spends_the_budget_counts_as_no_match_and_is_logged_without_text(
        bot: PluginHarness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    # 20 slow patterns (the settings would refuse them now): the room's compiled rules.
    slow = TextRules([], [rf"(b+)\1*{letter}" for letter in "cdefghijklmnopqrstuv"])
    monkeypatch.setattr(TextRules, "build", staticmethod(lambda words, patterns: slow))
    body = "b" * 3999 + "Z"
    with caplog.at_level(logging.WARNING, logger="bots.moderation"):
        await bot.send(NET, MEMBER, body)
        await bot.send(NET, MEMBER, body)
    # No strike, no action on the member: unfinished patterns are no match.
    assert not any(call.action in ("redact", "ban", "kick") for call in bot.homeserver.calls)
    logged = [record.getMessage() for record in caplog.records
              if "did not finish" in record.getMessage()]
    assert len(logged) == 2 and all(NET in line and "p20" in line for line in logged)
    assert not any("bbbb" in record.getMessage() for record in caplog.records)
    # The network's moderators hear it once (not per message), without the text.
    notices = [text for text in posted_to(bot, MODS) if "ran out of time" in text]
    assert len(notices) == 1 and "bbbb" not in notices[0] and "p20" in notices[0]
