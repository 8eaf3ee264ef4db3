"""Command groups and checks (core/plugin.py `group`, `checks=`, `Plugin.check`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from core.checks import in_dm, role_from_setting
from core.dispatch import Dispatcher
from core.i18n import Catalog
from core.plugin import Context, Plugin, PluginSettings, Refusal, command, group, plugin_problems
from core.roles import Role
from core.testing import PluginHarness

ALICE = "@alice:test"
BYSTANDER = "@sam:test"  # a third member: a room of two would be a DM
ROOM = "!group:test"

CATALOG = Catalog("events", {
    "help_event": {"en": "Events of this room.", "ar": "أحداث هذه الغرفة."},
    "help_event_add": {"en": "Add an event.", "ar": "إضافة حدث."},
    "help_event_list": {"en": "List the events.", "ar": "عرض الأحداث."},
    "help_event_cancel": {"en": "Cancel an event.", "ar": "إلغاء حدث."},
    "help_secret": {"en": "Only in a DM.", "ar": "في المحادثة المباشرة فقط."},
    "help_tuned": {"en": "Role from a setting.", "ar": "الدور من إعداد."},
    "added": {"en": "Added {title} at {when}.", "ar": "أُضيف {title} في {when}."},
    "listed": {"en": "{count} events.", "ar": "{count} أحداث."},
    "closed_today": {"en": "Events are closed today.", "ar": "الأحداث مغلقة اليوم."},
})


class EventsPlugin(Plugin):
    name = "events"
    catalog = CATALOG
    closed: ClassVar[bool] = False
    broken: ClassVar[bool] = False

    class Settings(PluginSettings):
        tuned_role: str = "admin"

    event = group("event", help="help_event")

    @event.command("add", help="help_event_add", aliases=("new",))
    async def add(self, ctx: Context, when: str, *, title: str) -> None:
        await ctx.reply(ctx.t("added", title=title, when=when))

    @event.command("list", help="help_event_list")
    async def list_(self, ctx: Context) -> None:
        await ctx.reply(ctx.t("listed", count=0))

    @event.command("cancel", help="help_event_cancel", min_role=Role.MODERATOR)
    async def cancel(self, ctx: Context, number: int) -> None:
        await ctx.reply(f"cancelled {number}")

    @command("secret", help="help_secret", checks=[in_dm])
    async def secret(self, ctx: Context) -> None:
        await ctx.reply("the secret")

    @command("tuned", help="help_tuned", checks=[role_from_setting("tuned_role")])
    async def tuned(self, ctx: Context) -> None:
        await ctx.reply("tuned ran")

    async def check(self, ctx: Context) -> None:
        if type(self).broken:
            raise RuntimeError("a bug in the plugin's own check")
        if type(self).closed:
            raise Refusal("closed_today")


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    EventsPlugin.closed = EventsPlugin.broken = False
    async with PluginHarness(EventsPlugin, data_dir=tmp_path) as h:
        h.room(ROOM, [ALICE, BYSTANDER])
        yield h


def plain(text: str) -> str:
    return text.replace("\u2068", "").replace("\u2069", "")  # the catalog isolates user text


async def test_a_subcommand_gets_its_own_arguments(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!event add 18:00 Picnic in the park")).body
    assert plain(body) == "Added Picnic in the park at 18:00."
    assert plain((await harness.reply(ROOM, ALICE, "!event NEW 9:00 Walk")).body) == \
        "Added Walk at 9:00."


async def test_a_group_alone_lists_what_this_reader_may_use(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!event")).body
    assert "Events of this room." in body
    assert "!event add <when> <title>" in body and "!event list" in body
    assert "!event cancel" not in body  # a moderator's subcommand, not a member's


async def test_an_unknown_subcommand_is_named_with_the_list(harness: PluginHarness) -> None:
    body = plain((await harness.reply(ROOM, ALICE, "!event remove 3")).body)
    assert body.startswith("!event has no part called remove.")
    assert "!event list" in body


async def test_a_subcommand_usage_error_shows_its_own_usage(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!event add 18:00")).body
    assert "Usage: !event add <when> <title>" in body
    harness.set_level(ROOM, ALICE, 50)
    body = (await harness.reply(ROOM, ALICE, "!event cancel soon")).body
    assert "Usage: !event cancel <number>" in body


async def test_a_subcommand_role_is_enforced(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!event cancel 3")).body
    assert "!event cancel" in body and "cancelled" not in body
    harness.set_level(ROOM, ALICE, 50)
    assert (await harness.reply(ROOM, ALICE, "!event cancel 3")).body == "cancelled 3"


async def test_help_shows_the_group_and_its_subcommands(harness: PluginHarness) -> None:
    listing = (await harness.reply(ROOM, ALICE, "!help")).body
    assert "!event — Events of this room." in listing
    assert "!event add" not in listing  # one line per group in the list
    assert "!event add <when> <title>" in (await harness.reply(ROOM, ALICE, "!help event")).body
    one = (await harness.reply(ROOM, ALICE, "!help event add")).body
    assert one.splitlines() == ["!event add <when> <title>", "Add an event."]


async def test_a_dm_only_check_refuses_in_a_room_and_runs_in_the_dm(harness: PluginHarness) -> None:
    body = (await harness.reply(ROOM, ALICE, "!secret")).body
    assert body == "!secret works only in our direct chat: send it to me there."
    dm = await harness.dm(ALICE)
    assert (await harness.reply(dm, ALICE, "!secret")).body == "the secret"


async def test_a_role_taken_from_a_setting(harness: PluginHarness) -> None:
    harness.set_level(ROOM, ALICE, 50)
    assert "tuned ran" not in (await harness.reply(ROOM, ALICE, "!tuned")).body
    await harness.runtime.settings.set_value(ROOM, EventsPlugin, "tuned_role", "moderator")
    assert (await harness.reply(ROOM, ALICE, "!tuned")).body == "tuned ran"


async def test_the_plugin_wide_check_refuses_every_command(harness: PluginHarness) -> None:
    EventsPlugin.closed = True
    assert (await harness.reply(ROOM, ALICE, "!event list")).body == "Events are closed today."
    dm = await harness.dm(ALICE)
    assert (await harness.reply(dm, ALICE, "!secret")).body == "Events are closed today."


async def test_a_check_that_raises_is_isolated_and_the_bot_goes_on(harness: PluginHarness) -> None:
    EventsPlugin.broken = True
    body = (await harness.reply(ROOM, ALICE, "!event list")).body
    assert "something went wrong on my side" in body
    EventsPlugin.broken = False
    assert (await harness.reply(ROOM, ALICE, "!event list")).body == "0 events."
    assert (await harness.reply(ROOM, ALICE, "!help")).body


def test_load_time_checks_see_group_help_keys() -> None:
    assert plugin_problems(EventsPlugin) == []

    class Careless(EventsPlugin):
        name = "careless"
        other = group("other", help="help_missing")

        @other.command("go", help="help_event_add")
        async def go(self, ctx: Context) -> None: ...

    assert any("!other" in problem and "help_missing" in problem
               for problem in plugin_problems(Careless))


def test_a_subcommand_declared_twice_is_refused(tmp_path: Path) -> None:
    class Twice(Plugin):
        name = "twice"
        catalog = CATALOG
        event = group("event", help="help_event")

        @event.command("add", help="help_event_add")
        async def one(self, ctx: Context) -> None: ...

        @event.command("add", help="help_event_add")
        async def two(self, ctx: Context) -> None: ...

    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher.routes = {}
    with pytest.raises(ValueError, match="declared twice"):
        dispatcher.add_plugin(Twice.__new__(Twice))


def test_group_options_reach_every_subcommand() -> None:
    class Staff(Plugin):
        name = "staff"
        catalog = CATALOG
        team = group("team", help="help_event", min_role=Role.MODERATOR, private=True)

        @team.command("add", help="help_event_add")
        async def add(self, ctx: Context) -> None: ...

        @team.command("list", help="help_event_list", min_role=Role.MEMBER)
        async def list_(self, ctx: Context) -> None: ...

    specs = {spec.name: spec for spec in Staff.commands()}
    assert specs["add"].min_role is Role.MODERATOR and specs["add"].private
    assert specs["list"].min_role is Role.MEMBER and specs["list"].private
    assert specs["add"].path == "team add"


class Contacts(Plugin):
    name = "contacts"
    catalog = CATALOG
    people = group("people", help="help_event", alone="list", otherwise="note")

    @people.command("list", help="help_event_list")
    async def list_(self, ctx: Context) -> None:
        await ctx.reply("the list")

    @people.command("add", help="help_event_add")
    async def add(self, ctx: Context, who: str) -> None:
        await ctx.reply(f"added {who}")

    @people.command("note", help="help_event_add")
    async def note(self, ctx: Context, *, text: str) -> None:
        await ctx.reply(f"noted: {text}")


@pytest.fixture
async def people(tmp_path: Path) -> AsyncIterator[PluginHarness]:
    async with PluginHarness(Contacts, data_dir=tmp_path) as h:
        h.room(ROOM, [ALICE, BYSTANDER])
        yield h


async def test_a_group_alone_runs_its_alone_subcommand(people: PluginHarness) -> None:
    assert (await people.reply(ROOM, ALICE, "!people")).body == "the list"
    assert (await people.reply(ROOM, ALICE, "!people add sam")).body == "added sam"


async def test_other_words_go_to_the_otherwise_subcommand_whole(people: PluginHarness) -> None:
    assert plain((await people.reply(ROOM, ALICE, "!people call sam at 6")).body) == \
        "noted: call sam at 6"
    assert plain((await people.reply(ROOM, ALICE, "!people note list")).body) == "noted: list"
    # `list` takes no words: what follows it was text all along.
    assert plain((await people.reply(ROOM, ALICE, "!people list the helpers")).body) == \
        "noted: list the helpers"
    # An argument of the wrong kind stays the subcommand's usage error.
    assert "Usage: !people add <who>" in (await people.reply(ROOM, ALICE, "!people add")).body


def test_alone_and_otherwise_must_name_subcommands() -> None:
    class Wrong(Plugin):
        name = "wrong"
        catalog = CATALOG
        things = group("things", help="help_event", alone="missing")

        @things.command("list", help="help_event_list")
        async def list_(self, ctx: Context) -> None: ...

    dispatcher = Dispatcher.__new__(Dispatcher)
    dispatcher.routes = {}
    with pytest.raises(ValueError, match="none of its subcommands"):
        dispatcher.add_plugin(Wrong.__new__(Wrong))


async def test_usage_names_the_arguments_in_the_readers_language(harness: PluginHarness) -> None:
    await harness.runtime.languages.set_user(ALICE, "ar")
    body = plain((await harness.reply(ROOM, ALICE, "!event add")).body)
    assert "!event add <متى> <العنوان>" in body and "when" not in body
    assert "متى" in body.splitlines()[0]  # "ينقص متى", not "ينقص when"
    help_body = plain((await harness.reply(ROOM, ALICE, "!help event add")).body)
    assert "!event add <متى> <العنوان>" in help_body
    await harness.runtime.languages.set_user(ALICE, "en")
    assert "!event add <when> <title>" in (await harness.reply(ROOM, ALICE, "!event add")).body


async def test_help_offers_a_command_only_to_the_role_its_setting_asks_for(
        harness: PluginHarness) -> None:
    harness.set_level(ROOM, ALICE, 50)
    assert "!tuned" not in (await harness.reply(ROOM, ALICE, "!help")).body  # admins by default
    await harness.runtime.settings.set_value(ROOM, EventsPlugin, "tuned_role", "moderator")
    assert "!tuned" in (await harness.reply(ROOM, ALICE, "!help")).body
