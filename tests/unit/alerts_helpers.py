"""The alerts plugin's test network on core.testing.PluginHarness, and what its tests read back.

`alerts_bot(tmp_path, network_rooms(3))` is a bot running AlertsPlugin (and any
`others`) with the organizers room and three network rooms, all given through
config as an operator would. MemoryHomeserver drops a send whose transaction
id it has seen, as Synapse does, so "nothing twice" is checked the way it
matters. Real Synapse and E2EE members: tests/integration/test_alerts.py.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from bots.alerts import AlertsPlugin
from core.plugin import Plugin
from core.testing import PluginHarness, Sent

BOT = "@bot:x"
ORGANIZER = "@org:x"  # an organizer by config (bot.roles.organizers)
HELPER = "@helper:x"  # level 50 in the organizers room: an organizer at the default role level
MEMBER = "@member:x"  # level 0 in the organizers room: not an organizer
ORGANIZERS_ROOM = "!organizers:x"
# Real seconds a test waits for the paced status edits (the manual clock moves meanwhile).
STATUS_WAIT_SECONDS = 10.0


def network_rooms(count: int) -> list[str]:
    """Ids for `count` network rooms; alerts_bot gives room i an admin @admin{i}:x (level 100),
    a member @m{i}:x and the name "Room i"."""
    return [f"!r{index}:x" for index in range(count)]


def alerts_bot(data_dir: Path, rooms: Sequence[str] = (), *,
               alerts: Mapping[str, Any] | None = None,
               network: Mapping[str, Any] | None = None, concurrency: int = 16,
               others: Mapping[type[Plugin], Mapping[str, Any]] | None = None) -> PluginHarness:
    """A bot with alerts, the organizers room and `rooms` as the network's (not started yet).

    `network` adds to the `network:` block (its `rooms` are added to `rooms`, for
    rooms the test builds itself); `others` are more plugins with their config
    blocks (AdminPlugin for `!config`). Use it as `async with alerts_bot(...) as h:`.
    """
    extra_network = dict(network or {})
    network_block = {**extra_network, "organizers_room": ORGANIZERS_ROOM,
                     "rooms": [*rooms, *extra_network.get("rooms", [])]}
    h = PluginHarness(
        AlertsPlugin, *(others or {}), data_dir=data_dir, bot_user_id=BOT,
        config={
            "bot": {"roles": {"organizers": [ORGANIZER]},
                    "outbox": {"concurrency": concurrency, "backoff_initial_seconds": 0.01,
                               "max_attempts": 3}},
            "network": network_block,
        },
        plugins={"alerts": {"status_edit_seconds": 0.1, **(alerts or {})},
                 **{plugin.name: dict(block) for plugin, block in (others or {}).items()}},
    )
    h.room(ORGANIZERS_ROOM, {ORGANIZER: 0, HELPER: 50, MEMBER: 0}, name="Organizers")
    for index, room in enumerate(rooms):
        h.room(room, {f"@admin{index}:x": 100, f"@m{index}:x": 0}, name=f"Room {index}")
    return h


def alerts(h: PluginHarness) -> AlertsPlugin:
    """The running alerts plugin (a new one after each restart)."""
    return h.plugin(AlertsPlugin)


async def say(h: PluginHarness, room: str, sender: str, body: str, *,
              settle: bool = True) -> str:
    """`sender` writes `body` in `room`; returns the bot's answer to it, as the member reads it.

    `settle=False` while sends are held at the homeserver: a held delivery never
    finishes, so this waits only until the bot has handled the message.
    """
    answers = (await h.send(room, sender, body, settle=settle)).replies
    assert answers, f"no answer to {body!r}"
    return answers[-1].plain


async def send_alert(h: PluginHarness, draft: str, *, settle: bool = True) -> str:
    """The organizer composes `!alert <draft>` and sends it; returns the answer to the send."""
    await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!alert {draft}")
    return await say(h, ORGANIZERS_ROOM, ORGANIZER, "!alert send", settle=settle)


async def ready_without_firing_jobs(h: PluginHarness) -> None:
    """What follows the first sync after `start(ready=False)` or `restart(ready=False)`:
    every plugin's ready and the outbox starting, without the due jobs PluginHarness.ready
    fires, so the test fires them itself and counts them (`scheduler.run_due()`).

    `PluginHarness.send` then no longer waits for deliveries: wait with `outbox.idle()`.
    """
    for plugin in h.runtime.plugins.values():
        await plugin.ready()
    h.outbox.start()


async def tag(h: PluginHarness, room: str, name: str) -> None:
    """An organizer tags a network room from the organizers room."""
    assert "tagged" in await say(h, ORGANIZERS_ROOM, ORGANIZER, f"!network tag {name} {room}")


def is_alert(sent: Sent) -> bool:
    return "Alert from the organizers" in sent.body or "URGENT" in sent.body


def alerts_in(h: PluginHarness, room: str) -> list[Sent]:
    """The alerts the bot posted in a room."""
    return [s for s in h.homeserver.messages(room) if is_alert(s)]


def dm_alerts(h: PluginHarness, user: str) -> list[Sent]:
    """The alerts the bot sent a member in their DMs."""
    return [s for s in h.private(user) if is_alert(s)]


def dm_users(h: PluginHarness) -> set[str]:
    """The members the bot opened a DM with."""
    return {user for room in h.homeserver.created if (user := h.dms.user_of(room)) is not None}


def alert_id_of(preview: str) -> str:
    return preview.split("alert ", 1)[1].split(" ", 1)[0].strip("\u2068\u2069:")


async def first_alert_id(h: PluginHarness) -> str:
    row = await h.db.fetchone("SELECT id FROM alerts_alerts ORDER BY created_at LIMIT 1")
    assert row is not None, "no alert stored"
    return str(row["id"])


def status_texts(h: PluginHarness) -> list[str]:
    """The status message's text after each edit, as read (without the edit's "* ")."""
    return [edit.plain.removeprefix("* ") for edit in h.homeserver.edits(ORGANIZERS_ROOM)]


async def advance_until(h: PluginHarness, predicate: Callable[[], bool],
                        within: float = STATUS_WAIT_SECONDS) -> None:
    """Move the manual clock on, a second at a time, until `predicate` holds (retries and
    the status edits wait on that clock)."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await h.advance(1)
        await asyncio.sleep(0.01)  # the status edit woken by the clock is a task of its own


async def status_shows(h: PluginHarness, text: str) -> str:
    """The latest status edit once it contains `text` (the manual clock paces the edits)."""
    def latest() -> str:
        texts = status_texts(h)
        return texts[-1] if texts else ""
    try:
        await advance_until(h, lambda: text in latest())
    except AssertionError:
        raise AssertionError(f"status never showed {text!r}: {latest()!r}") from None
    return latest()
