"""`!help` (core/builtin.py): only what this reader may use here, grouped by purpose."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bots.admin import AdminPlugin
from bots.alerts import AlertsPlugin
from bots.checkins import CheckinsPlugin
from bots.moderation import ModerationPlugin
from bots.onboarding import OnboardingPlugin
from bots.resources import ResourcesPlugin
from core.builtin import (
    PLUGIN_GROUPS,
    PRIORITY,
    CorePlugin,
    Group,
    Reader,
    arrange,
    group_of,
)
from core.dispatch import group_head
from core.i18n import RLM
from core.messages import CATALOG
from core.network import NetworkRole
from core.plugin import CommandGroup, CommandSpec, Plugin, command
from core.roles import Role
from core.testing import PluginHarness

PLUGINS: list[type[Plugin]] = [CorePlugin, AdminPlugin, AlertsPlugin, CheckinsPlugin,
                               ModerationPlugin, OnboardingPlugin, ResourcesPlugin]


def _shown(plugin: type[Plugin]) -> list[CommandSpec]:
    """What `!help` lists for a plugin: its commands, a group once by its head (as routed)."""
    groups: dict[CommandGroup, list[CommandSpec]] = {}
    plain = []
    for spec in plugin.commands():
        if spec.group is None:
            plain.append(spec)
        else:
            groups.setdefault(spec.group, []).append(spec)
    return plain + [group_head(g, subcommands) for g, subcommands in groups.items()]


COMMANDS = [(plugin.name, spec) for plugin in PLUGINS for spec in _shown(plugin)]

ORGANIZING = {"alert", "rollcall", "network", "modroom"}
STAFF = {spec.name for _, spec in COMMANDS if spec.min_role > Role.MEMBER}

NEWCOMER = Reader(role=Role.MEMBER, network_roles=frozenset())
NEWCOMER_DM = Reader(role=Role.MEMBER, network_roles=frozenset(), in_dm=True)
# The DM's creator has full power there, which makes them no room's moderator.
NEWCOMER_OWN_DM = Reader(role=Role.ADMIN, network_roles=frozenset(), in_dm=True)
ORGANIZER_HERE = Reader(role=Role.MEMBER, network_roles=frozenset({NetworkRole.ORGANIZER}),
                        in_organizers_room=True)
ORGANIZER_ELSEWHERE = Reader(role=Role.MEMBER, network_roles=frozenset({NetworkRole.ORGANIZER}))
MODERATOR = Reader(role=Role.MODERATOR, network_roles=frozenset())


def names(reader: Reader) -> list[str]:
    arranged = arrange(COMMANDS, reader)
    return [spec.name for _, specs in arranged.groups for spec in specs]


def private_names(reader: Reader) -> list[str]:
    return [spec.name for spec in arrange(COMMANDS, reader).private]


def groups(reader: Reader) -> list[Group]:
    return [group for group, _ in arrange(COMMANDS, reader).groups]


def test_every_bundled_plugin_has_a_group_and_every_command_a_rank() -> None:
    for plugin in PLUGINS:
        assert plugin.name in PLUGIN_GROUPS
    ranked = set(PRIORITY)
    assert {spec.name for _, spec in COMMANDS} <= ranked
    assert len(PRIORITY) == len(ranked)


def test_a_newcomer_in_a_group_sees_no_organizer_or_staff_command() -> None:
    shown = set(names(NEWCOMER)) | set(private_names(NEWCOMER))
    assert not shown & ORGANIZING
    assert not shown & STAFF
    assert groups(NEWCOMER)[0] is Group.ROOM
    assert names(NEWCOMER)[:3] == ["rules", "agree", "rooms"]


def test_in_a_group_private_commands_are_only_named_safety_first() -> None:
    described = names(NEWCOMER)
    private = private_names(NEWCOMER)
    for name in ("checkin", "safe", "duress", "safepin", "contacts", "find", "pronouns"):
        assert name in private
        assert name not in described
    assert private[:2] == ["checkin", "safe"]
    assert private.index("duress") < private.index("find")


def test_in_the_dm_safety_comes_first_and_is_described() -> None:
    assert groups(NEWCOMER_DM)[0] is Group.SAFETY
    assert names(NEWCOMER_DM)[:3] == ["checkin", "safe", "extend"]
    assert private_names(NEWCOMER_DM) == []
    # Nothing that only makes sense in a shared room.
    assert not {"here", "report", "rollcall", "network"} & set(names(NEWCOMER_DM))


def test_power_in_ones_own_dm_shows_no_room_staff_command() -> None:
    assert not set(names(NEWCOMER_OWN_DM)) & STAFF


def test_an_organizer_in_the_organizers_room_sees_organizing_first() -> None:
    assert groups(ORGANIZER_HERE)[0] is Group.ORGANIZING
    assert names(ORGANIZER_HERE)[:3] == ["alert", "rollcall", "network"]
    # Network authority stands in for room roles (`or_network_role`).
    assert {"config", "ban", "modroom"} <= set(names(ORGANIZER_HERE))
    # Room power alone grants none of the network's commands.
    assert "plugins" not in names(ORGANIZER_HERE)


def test_alerts_are_offered_only_in_the_organizers_room() -> None:
    assert "alert" not in names(ORGANIZER_ELSEWHERE)
    assert "rollcall" in names(ORGANIZER_ELSEWHERE)
    assert groups(ORGANIZER_ELSEWHERE)[0] is Group.MODERATION


def test_a_room_moderator_sees_moderation_first_but_not_the_networks() -> None:
    shown = names(MODERATOR)
    assert groups(MODERATOR)[0] is Group.MODERATION
    assert shown[:3] == ["warn", "mute", "unmute"]
    assert "rollcall" in shown
    assert not {"alert", "network", "modroom"} & set(shown)


def test_a_network_moderator_moderates_without_a_room_role() -> None:
    reader = Reader(role=Role.MEMBER, network_roles=frozenset({NetworkRole.MODERATOR}))
    shown = set(names(reader))
    assert {"ban", "kick", "policy"} <= shown
    assert not {"filters", "plugins", "config", "alert"} & shown


def test_a_network_role_command_needs_that_role() -> None:
    curator = Reader(role=Role.ADMIN, network_roles=frozenset({NetworkRole.CURATOR}))
    assert "modroom" not in names(curator)  # network_role=ORGANIZER: room power is not it


def test_the_order_is_stable() -> None:
    for reader in (NEWCOMER, NEWCOMER_DM, ORGANIZER_HERE, MODERATOR):
        first = arrange(COMMANDS, reader)
        assert arrange(reversed(COMMANDS), reader) == first
        assert arrange(sorted(COMMANDS, key=lambda c: c[1].name[::-1]), reader) == first


class Echo(Plugin):
    name = "echo"
    catalog = CATALOG

    @command("echo", help="help_help")
    async def echo(self, ctx: Any, *, text: str = "") -> None: ...

    @command("zap", help="help_help", min_role=Role.ADMIN)
    async def zap(self, ctx: Any) -> None: ...


def test_third_party_commands_fall_back_to_other() -> None:
    spec = Echo.commands()[0]
    assert group_of("echo", spec) is Group.OTHER
    arranged = arrange([*COMMANDS, *(("echo", s) for s in Echo.commands())], NEWCOMER)
    other = dict(arranged.groups)[Group.OTHER]
    assert [s.name for s in other] == ["echo"]  # `zap` is for admins
    assert [group for group, _ in arranged.groups][-2:] == [Group.OTHER, Group.BASICS]


def test_unencrypted_rooms_offer_no_encrypted_only_command() -> None:
    reader = Reader(role=Role.MEMBER, network_roles=frozenset({NetworkRole.ORGANIZER}),
                    in_organizers_room=True, encrypted=False)
    assert "alert" not in names(reader)


def test_group_titles_exist_in_every_language() -> None:
    assert CATALOG.problems() == []
    for group in Group:
        for language in ("en", "ar"):
            assert CATALOG.text(f"help_group_{group.value}", language)
    assert CATALOG.text("help_group_room_dm", "ar")


def _spec(name: str) -> CommandSpec:
    return next(spec for _, spec in COMMANDS if spec.name == name)


def test_checks_follow_the_declared_roles() -> None:
    # `or_network_role` stands in for min_role; it does not stand in for `network_role`.
    assert _spec("ban").or_network_role is NetworkRole.MODERATOR
    assert _spec("modroom").network_role is NetworkRole.ORGANIZER


# -- through the dispatcher -----------------------------------------------------

ALICE, BOB = "@alice:test", "@bob:test"
ROOM = "!group:test"


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with PluginHarness(CheckinsPlugin, AdminPlugin, data_dir=tmp_path) as h:
        h.room(ROOM, [ALICE, BOB])  # three members with the bot: a group, not a DM
        yield h


async def test_help_in_a_group_room_for_a_member(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!help")).body
    assert "!rollcall" not in body and "!config" not in body
    assert "• !checkin" not in body  # named on the private line, not described
    private = next(line for line in body.split("\n") if line.startswith("Privately"))
    assert "!checkin, !safe" in private
    assert "• !here" in body
    assert body.split("\n")[-1].startswith("Send !help <command>")


async def test_help_in_the_dm_leads_with_safety(harness: PluginHarness) -> None:
    dm = await harness.dm(ALICE)
    harness.set_level(dm, ALICE, 100)  # as if they created the DM
    body = (await harness.reply(dm, ALICE, "!help")).body
    lines = body.split("\n")
    assert lines[2].startswith("Staying safe")
    assert lines[3].startswith("• !checkin")
    assert "!config" not in body and "!here" not in body and "Privately" not in body


async def test_help_in_arabic_is_shaped(harness: PluginHarness) -> None:
    await harness.set_language(ALICE, "ar")
    body = (await harness.reply(ROOM, ALICE, "!help")).body
    assert all(line.startswith(RLM) for line in body.split("\n") if line.strip())
    assert "هذه الغرفة" in body
    assert "بشكل خاص" in body


async def test_help_for_one_command_is_as_before(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!help rollcall")).body
    assert body.startswith("!rollcall <duration>")


@pytest.mark.parametrize("body", ["help", "Help?", "! help", "！help", "／help", "؟"])
async def test_forgiving_forms_get_the_help_in_the_dm(harness: PluginHarness, body: str) -> None:
    dm = await harness.dm(ALICE)
    answer = (await harness.reply(dm, ALICE, body)).body
    assert answer == (await harness.reply(dm, ALICE, "!help")).body
    # The same words in a group room are only words.
    assert await harness.send(ROOM, ALICE, body) == []


def test_onit_is_the_rooms_in_a_group_and_safety_in_the_dm() -> None:
    onit = _spec("onit")
    assert group_of("checkins", onit) is Group.ROOM
    assert group_of("checkins", onit, in_dm=True) is Group.SAFETY
    assert Group.SAFETY not in groups(NEWCOMER)
