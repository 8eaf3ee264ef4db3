"""The greeter plugin's own tests, on the framework's test kit (core.testing).

A plugin author's tests look like these: the real bot (dispatcher, storage,
settings, languages) runs the plugin against a homeserver in memory, and the
test reads what the bot sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from solidarity_greeter import GreeterPlugin

from core.i18n import RLM
from core.room_settings import SettingError
from core.testing import PluginHarness

ROOM, OTHER = "!room:test", "!other:test"
ALICE, SAM = "@alice:test", "@sam:test"


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with PluginHarness(GreeterPlugin, data_dir=tmp_path) as harness:
        harness.room(ROOM, [ALICE, SAM])
        harness.room(OTHER, [ALICE, SAM])
        yield harness


async def test_greets_the_sender_or_the_name_given(h: PluginHarness) -> None:
    answers = await h.send(ROOM, ALICE, "!greet")
    [reply] = answers.replies
    assert reply.plain == f"Hello, {ALICE}!"
    assert reply.content["msgtype"] == "m.notice"  # bots do not wake other bots
    assert (await h.reply(ROOM, SAM, "!greet Alex")).plain == "Hello, Alex!"


async def test_the_greeting_is_a_room_setting(h: PluginHarness) -> None:
    await h.runtime.settings.set_value(ROOM, GreeterPlugin, "greeting", "Salaam")
    assert (await h.reply(ROOM, ALICE, "!greet Sam")).plain == "Salaam, Sam!"
    assert (await h.reply(OTHER, ALICE, "!greet Sam")).plain == "Hello, Sam!"
    with pytest.raises(SettingError):
        await h.runtime.settings.set_value(ROOM, GreeterPlugin, "greeting", "x" * 41)


async def test_config_sets_the_default_greeting(tmp_path: Path) -> None:
    async with PluginHarness(GreeterPlugin, data_dir=tmp_path,
                             plugins={"greeter": {"greeting": "Welcome"}}) as h:
        h.room(ROOM, [ALICE])
        assert (await h.reply(ROOM, ALICE, "!greet Sam")).plain == "Welcome, Sam!"


async def test_arabic_readers_get_arabic(h: PluginHarness) -> None:
    await h.set_language(ALICE, "ar")
    answer = await h.reply(ROOM, ALICE, "!greet سام")
    assert answer.body.startswith(RLM)
    assert answer.plain == "Hello، سام!"
    # Another member still reads English.
    assert (await h.reply(ROOM, SAM, "!greet Sam")).plain == "Hello, Sam!"


async def test_a_disabled_plugin_does_not_answer(h: PluginHarness) -> None:
    await h.enable(ROOM, GreeterPlugin, False)
    answer = await h.reply(ROOM, ALICE, "!greet")
    assert "Hello," not in answer.plain  # core's answer (the command is not on here), not a greeting
