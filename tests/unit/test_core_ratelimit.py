"""The per-member sliding-window rate limit (core/ratelimit.py) on a manual clock."""

from __future__ import annotations

import pytest

from core.clock import ManualClock
from core.ratelimit import RateLimiter

ALEX = "@alex:example.org"
SAM = "@sam:example.org"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_allows_up_to_the_limit_then_refuses(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, limit=3, window_seconds=10)
    assert [limiter.allow(ALEX) for _ in range(5)] == [True, True, True, False, False]
    # Another member has their own budget.
    assert limiter.allow(SAM) is True


async def test_window_slides(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, limit=2, window_seconds=10)
    assert limiter.allow(ALEX)            # t=0
    await clock.advance(4)
    assert limiter.allow(ALEX)            # t=4
    assert not limiter.allow(ALEX)
    await clock.advance(5.9)              # t=9.9: both still inside the window
    assert not limiter.allow(ALEX)
    await clock.advance(0.1)              # t=10: the first one has left the window
    assert limiter.allow(ALEX)
    assert not limiter.allow(ALEX)
    await clock.advance(4)                # t=14: the t=4 one leaves
    assert limiter.allow(ALEX)
    assert not limiter.allow(ALEX)


async def test_refused_commands_do_not_extend_the_wait(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, limit=1, window_seconds=10)
    assert limiter.allow(ALEX)
    for _ in range(9):
        await clock.advance(1)
        assert not limiter.allow(ALEX)
    await clock.advance(1)
    assert limiter.allow(ALEX)


async def test_retry_after(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, limit=2, window_seconds=10)
    assert limiter.retry_after(ALEX) == 0.0
    limiter.allow(ALEX)
    await clock.advance(3)
    limiter.allow(ALEX)
    assert not limiter.allow(ALEX)
    assert limiter.retry_after(ALEX) == pytest.approx(7)
    await clock.advance(7)
    assert limiter.retry_after(ALEX) == 0.0
    assert limiter.allow(ALEX)
    assert limiter.retry_after(SAM) == 0.0


async def test_should_warn_once_per_window(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, limit=1, window_seconds=10)
    assert limiter.should_warn(ALEX) is True
    assert limiter.should_warn(ALEX) is False
    assert limiter.should_warn(SAM) is True
    await clock.advance(9.9)
    assert limiter.should_warn(ALEX) is False
    await clock.advance(0.1)
    assert limiter.should_warn(ALEX) is True
    assert limiter.should_warn(ALEX) is False


async def test_a_burst_from_one_member_is_capped(clock: ManualClock) -> None:
    limiter = RateLimiter(clock, limit=10, window_seconds=10)
    allowed = 0
    for _ in range(500):
        allowed += limiter.allow(ALEX)
        await clock.advance(0.01)  # 500 commands in 5 seconds
    assert allowed == 10
    assert limiter.allow(SAM)
