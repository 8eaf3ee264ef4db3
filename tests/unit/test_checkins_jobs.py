"""Check-ins jobs: retention, the recurring purge, retried escalations, dead letters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.outbox import SAFETY
from core.testing import PluginHarness
from tests.unit.checkins_helpers import (
    ALICE,
    BOB,
    BYSTANDER,
    CAROL,
    DAVE,
    TEAM,
    accepted_contacts,
    alerts_to,
    checkins,
    plugin,
    sent_to,
)

DAY = 86400.0
NOTE = "at the Karim vigil"


async def rows(h: PluginHarness, table: str) -> list[Any]:
    return await h.db.fetchall(f"SELECT * FROM {table}")


async def test_duress_alarm_and_unresolved_escalation_deleted_after_retention(
        tmp_path: Path) -> None:
    async with checkins(tmp_path, {"reminder_minutes": 0, "grace_minutes": 5}) as h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, "!safepin set 1234")
        await h.send(dm, ALICE, "!duress set 9911")
        await h.send(dm, ALICE, f"!checkin 1h {NOTE}")
        await h.send(dm, ALICE, "!safe 9911")  # the alarm: a hidden urgent row
        assert len(alerts_to(h, BOB)) == 1
        carol_dm = await h.dm(CAROL)
        await h.send(carol_dm, CAROL, "!checkin 1h")
        await h.advance(3600 + 6 * 60)  # Carol's check-in escalates; nobody resolves it
        states = sorted((r["user_id"], r["state"], r["urgent"]) for r in
                        await rows(h, "checkins_checkins"))
        assert (ALICE, "escalated", 1) in states and (CAROL, "escalated", 0) in states
        assert await rows(h, "checkins_alerts")
        await h.advance(29 * DAY)
        assert len([r for r in await rows(h, "checkins_checkins")
                    if r["state"] == "escalated"]) == 2
        await h.advance(1.1 * DAY)
        assert [r for r in await rows(h, "checkins_checkins") if r["state"] == "escalated"] == []
        assert await rows(h, "checkins_alerts") == []


async def test_retention_days_is_a_setting(tmp_path: Path) -> None:
    async with checkins(tmp_path, {"reminder_minutes": 0, "grace_minutes": 0,
                                   "retention_days": 2}) as h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, "!checkin 1h")
        await h.advance(3601)
        assert len(alerts_to(h, BOB)) == 1
        await h.advance(1.5 * DAY)
        assert len(await rows(h, "checkins_checkins")) == 1
        await h.advance(DAY)
        assert await rows(h, "checkins_checkins") == []


async def test_purge_is_one_recurring_job_and_the_old_fixed_one_goes(tmp_path: Path) -> None:
    async with checkins(tmp_path) as h:
        # As older versions left it: a one-off job under a fixed id that rescheduled itself.
        await h.scheduler.schedule("checkins", "purge", h.clock.now() + 3600,
                                   job_id="checkins-purge")
        await h.restart()
        jobs = await h.scheduler.pending("checkins", "purge")
        assert [j.id for j in jobs] == ["every:checkins:purge"]
        await h.advance(3 * 3600 + 1)
        assert [j.id for j in await h.scheduler.pending("checkins", "purge")] == [
            "every:checkins:purge"]
        # A failing purge is not the end of it either.
        original = plugin(h).store.purge

        async def broken(*args: Any) -> int:
            raise RuntimeError("disk hiccup")

        plugin(h).store.purge = broken  # type: ignore[method-assign]
        await h.advance(3600)
        plugin(h).store.purge = original  # type: ignore[method-assign]
        assert [j.id for j in await h.scheduler.pending("checkins", "purge")] == [
            "every:checkins:purge"]


async def test_escalation_failing_twice_alerts_contacts_once_on_the_third_try(
        tmp_path: Path) -> None:
    """Fails before anything is stored: the retries send nothing, the third try sends once."""
    async with checkins(tmp_path, {"reminder_minutes": 0, "grace_minutes": 0}) as h:
        dm = await accepted_contacts(h, ALICE, BOB, CAROL)
        await h.send(dm, ALICE, f"!checkin 1h {NOTE}")
        store = plugin(h).store
        original = store.accepted_contacts
        calls = {"n": 0}

        async def flaky(owner: str) -> list[str]:
            calls["n"] += 1
            if calls["n"] <= 2:
                raise RuntimeError("database is locked")
            return await original(owner)

        store.accepted_contacts = flaky  # type: ignore[method-assign]
        await h.advance(3601)
        assert alerts_to(h, BOB) == [] and h.scheduler.retried == 1
        await h.advance(5)
        assert alerts_to(h, BOB) == [] and h.scheduler.retried == 2
        await h.advance(10)
        assert len(alerts_to(h, BOB)) == 1 and len(alerts_to(h, CAROL)) == 1
        assert NOTE in alerts_to(h, BOB)[0]
        await h.advance(3600)
        assert len(alerts_to(h, BOB)) == 1 and len(alerts_to(h, CAROL)) == 1
        assert await h.scheduler.pending("checkins", "escalate") == []
        assert await h.scheduler.dead_letters("checkins") == []


async def test_escalation_failing_after_its_commit_is_not_sent_again(tmp_path: Path) -> None:
    """Fails after the alerts were committed (twice): the reruns add no alert."""
    h = checkins(tmp_path, {"reminder_minutes": 0, "grace_minutes": 0,
                            "team_room": TEAM, "team_after_minutes": 15})
    h.room(TEAM, [DAVE, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, "!checkin 1h")
        scheduler = h.runtime.scheduler
        original = scheduler.pending
        calls = {"n": 0}

        async def flaky(owner: str, kind: str | None = None) -> Any:
            if kind == "team":  # the step after the escalation's transaction
                calls["n"] += 1
                if calls["n"] <= 2:
                    raise RuntimeError("database is locked")
            return await original(owner, kind)

        scheduler.pending = flaky  # type: ignore[method-assign]
        await h.advance(3601)
        await h.advance(5)
        await h.advance(10)
        assert calls["n"] == 3 and h.scheduler.retried == 2
        assert len(alerts_to(h, BOB)) == 1
        assert sorted(j.kind for j in await original("checkins")) == ["purge", "team"]
        await h.advance(15 * 60)
        assert len(alerts_to(h, BOB)) == 1
        assert len([s for s in sent_to(h, TEAM) if "Safety alert" in s.body]) == 1


async def test_dead_lettered_escalation_reaches_the_team_room_without_personal_details(
        tmp_path: Path) -> None:
    h = checkins(tmp_path, {"reminder_minutes": 0, "grace_minutes": 0, "team_room": TEAM})
    h.room(TEAM, [DAVE, BYSTANDER])
    async with h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, f"!checkin 1h {NOTE}")
        [checkin] = await rows(h, "checkins_checkins")

        async def broken(owner: str) -> list[str]:
            raise RuntimeError("database is locked")

        plugin(h).store.accepted_contacts = broken  # type: ignore[method-assign]
        await h.advance(3601)
        for _ in range(12):
            await h.advance(1000)
        [dead] = await h.scheduler.dead_letters("checkins")
        assert dead.kind == "escalate"
        team = [s.body for s in sent_to(h, TEAM)]
        [notice] = [b for b in team if "could not be delivered" in b]
        assert f"after {h.scheduler.max_attempts} tries" in notice
        assert "solidarity jobs" in notice
        for private in (ALICE, "alice", NOTE, "Karim", BOB, checkin["id"]):
            assert private not in notice
        [row] = await h.db.fetchall(
            "SELECT priority FROM core_outbox WHERE owner = 'checkins' AND key LIKE 'deadletter/%'")
        assert row["priority"] == SAFETY
        # Told once, however long it stays dead.
        await h.advance(DAY)
        assert len([s for s in sent_to(h, TEAM) if "could not be delivered" in s.body]) == 1


async def test_dead_letter_in_arabic_and_without_a_team_room(tmp_path: Path) -> None:
    async with checkins(tmp_path, {"reminder_minutes": 0, "grace_minutes": 0}) as h:
        dm = await accepted_contacts(h, ALICE, BOB)
        await h.send(dm, ALICE, "!checkin 1h")

        async def broken(owner: str) -> list[str]:
            raise RuntimeError("database is locked")

        plugin(h).store.accepted_contacts = broken  # type: ignore[method-assign]
        await h.advance(3601)
        for _ in range(12):
            await h.advance(1000)
        assert len(await h.scheduler.dead_letters("checkins")) == 1
        # No team room: logged only, nothing queued, nothing raised.
        assert await h.db.fetchall(
            "SELECT * FROM core_outbox WHERE key LIKE 'deadletter/%'") == []
    from bots.checkins.messages import CATALOG
    text = CATALOG.text("dead_letter_escalate", "ar", tries=8, jobs="solidarity jobs")
    assert "solidarity jobs" in text and "8" in text
