"""core.lanes: the next event of a lane may start while a reply is in flight; its sends wait."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from core.lanes import GATE, SendGate, before_send


def in_lane(gate: SendGate, body: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
    async def run() -> None:
        GATE.set(gate)
        await body()

    return asyncio.create_task(run())


async def test_outside_a_lane_a_send_goes_at_once() -> None:
    assert GATE.get() is None
    await asyncio.wait_for(before_send(), 1)


async def test_next_event_starts_while_the_reply_is_in_flight_and_its_reply_follows() -> None:
    sent: list[str] = []
    on_the_wire = asyncio.Event()  # the first reply's request is still out

    async def first() -> None:
        await before_send()
        await on_the_wire.wait()
        sent.append("reply 1")

    async def second() -> None:
        await before_send()  # ready long before the first reply is through
        sent.append("reply 2")

    gate1 = SendGate(None)
    task1 = in_lane(gate1, first)
    await asyncio.wait_for(gate1.sending_or_done(task1), 1)
    assert gate1.sending and not task1.done()  # the lane may go on now

    gate2 = SendGate(task1)
    task2 = in_lane(gate2, second)
    await asyncio.wait_for(gate2.sending_or_done(task2), 1)
    for _ in range(5):
        await asyncio.sleep(0)
    assert sent == []  # the second reply waits for the first event
    assert not task2.done()

    on_the_wire.set()
    await asyncio.wait_for(asyncio.gather(task1, task2), 1)
    assert sent == ["reply 1", "reply 2"]


async def test_an_event_that_sends_nothing_lets_the_lane_go_on_when_handled() -> None:
    gate = SendGate(None)
    release = asyncio.Event()

    async def quiet() -> None:
        await release.wait()

    task = in_lane(gate, quiet)
    waiting = asyncio.create_task(gate.sending_or_done(task))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # neither sending nor handled yet
    release.set()
    await asyncio.wait_for(waiting, 1)
    assert not gate.sending


async def test_a_failed_previous_event_does_not_stop_the_next_send() -> None:
    async def broken() -> None:
        raise RuntimeError("handler bug")

    gate1 = SendGate(None)
    task1 = in_lane(gate1, broken)
    await gate1.sending_or_done(task1)
    sent: list[str] = []

    async def after() -> None:
        await before_send()
        sent.append("reply")

    gate2 = SendGate(task1)
    await asyncio.wait_for(in_lane(gate2, after), 1)
    assert sent == ["reply"]
    with pytest.raises(RuntimeError):
        task1.result()


async def test_a_helper_task_inherits_its_events_gate() -> None:
    hold = asyncio.Event()

    async def slow() -> None:
        await before_send()
        await hold.wait()

    gate1 = SendGate(None)
    task1 = in_lane(gate1, slow)
    await gate1.sending_or_done(task1)
    order: list[str] = []

    async def with_helper() -> None:
        async def helper() -> None:
            await before_send()
            order.append("helper's send")

        await asyncio.create_task(helper())

    task2 = in_lane(SendGate(task1), with_helper)
    await asyncio.sleep(0.01)
    assert order == []
    hold.set()
    await asyncio.wait_for(task2, 1)
    assert order == ["helper's send"]
