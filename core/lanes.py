"""Send order within a dispatcher lane (one member's events in one room).

A lane handles a member's events in order. Handling the next command need not
wait until the previous reply has crossed the network; what must wait is the
next reply itself: Synapse orders a room's events by when their sends arrive,
so two sends in flight at once may land in either order (its per-room limiter
covers only the transaction-id look-up, not the event's creation).

So each event of a lane is handled under a SendGate. A send made while
handling it (core.matrix.sending calls `before_send`) first marks the event as
sending, which lets the lane start its next event, and then waits until the
lane's previous event is completely handled. Outside a lane (the outbox, the
scheduler, start-up) there is no gate and a send goes at once.
"""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any


class SendGate:
    """What one event of a lane waits for before it sends: the lane's previous event."""

    def __init__(self, previous: asyncio.Future[None] | None) -> None:
        self._previous = previous
        self._sending = asyncio.Event()

    @property
    def sending(self) -> bool:
        return self._sending.is_set()

    async def before_send(self) -> None:
        self._sending.set()
        if self._previous is not None and not self._previous.done():
            # wait(), not await: the previous event's failure is its own.
            await asyncio.wait({self._previous})

    async def sending_or_done(self, handling: asyncio.Future[None]) -> None:
        """Return once the event handled by `handling` has begun a send, or is handled."""
        if self._sending.is_set() or handling.done():
            return
        sending = asyncio.ensure_future(self._sending.wait())
        waited: set[asyncio.Future[Any]] = {handling, sending}
        try:
            await asyncio.wait(waited, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sending.cancel()


# The gate of the event the current task handles; a task inherits it from the
# task that created it (contextvars), so a send from a helper task waits too.
GATE: ContextVar[SendGate | None] = ContextVar("solidarity_lane_gate", default=None)


async def before_send() -> None:
    """Before a send: in a lane, let it go on and wait for its previous event; else nothing."""
    gate = GATE.get()
    if gate is not None:
        await gate.before_send()
