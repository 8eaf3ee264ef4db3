"""Onboarding's commands on the plugin SDK: `!intro` and `!onboarding` are command groups.

`!intro` keeps its words (alone it starts) and every subcommand is refused
outside the member's own DM by one declared check; `!onboarding` alone lists
what an admin may do, as `!onboarding preview` and `status` still do it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bots.onboarding import OnboardingPlugin
from bots.onboarding.plugin import in_own_dm
from tests.unit.test_onboarding_plugin import (
    ADMIN,
    INTROS,
    NEWCOMER,
    ORGANIZER,
    ORGANIZERS_ROOM,
    ROOM,
    Harness,
    close,
    make_harness,
)


@pytest.fixture
async def harness(tmp_path: Path) -> AsyncIterator[Harness]:
    h = await make_harness(tmp_path)
    try:
        yield h
    finally:
        await close(h)


async def test_every_intro_subcommand_is_for_the_members_own_dm(harness: Harness) -> None:
    h = harness
    await h.say(ORGANIZERS_ROOM, ORGANIZER,
                f"!config --network onboarding introductions_room {INTROS}")
    await h.join(ROOM, NEWCOMER)
    specs = [spec for spec in OnboardingPlugin.commands() if spec.group is not None
             and spec.group.name == "intro"]
    assert sorted(spec.name for spec in specs) == ["cancel", "post", "start"]
    assert all(in_own_dm in spec.checks for spec in specs)
    for line in ("!intro", "!intro start", "!intro post", "!intro cancel"):
        assert "private chat" in await h.say(ROOM, NEWCOMER, line), line
    assert NEWCOMER not in h.plugin.intros.drafts


async def test_intro_alone_starts_and_cancel_drops_the_draft(harness: Harness) -> None:
    h = harness
    await h.say(ORGANIZERS_ROOM, ORGANIZER,
                f"!config --network onboarding introductions_room {INTROS}")
    dm = await h.join(ROOM, NEWCOMER)
    assert "Introductions" in await h.say(dm, NEWCOMER, "!intro")
    assert NEWCOMER in h.plugin.intros.drafts
    await h.say(dm, NEWCOMER, "!intro cancel")
    assert NEWCOMER not in h.plugin.intros.drafts
    assert "Introductions" in await h.say(dm, NEWCOMER, "!intro start")


async def test_onboarding_alone_lists_what_an_admin_may_do(harness: Harness) -> None:
    listed = await harness.say(ROOM, ADMIN, "!onboarding")
    assert "onboarding preview" in listed and "onboarding status" in listed
    assert "Onboarding here: gate" in await harness.say(ROOM, ADMIN, "!onboarding status")
    # A member is shown what the group is for, not the admins' subcommands to run.
    assert "• !onboarding" in listed
    await harness.join(ROOM, NEWCOMER)
    assert "• !onboarding" not in await harness.say(ROOM, NEWCOMER, "!onboarding")
