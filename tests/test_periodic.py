"""``PeriodicTask``: a schedule on the event loop's monotonic clock, with real asyncio time.

Intervals are tens of milliseconds, so the tests run in real time; the bounds leave room for a
busy machine waking the loop late, never for a schedule that drifts or bursts. What a stepped
system clock does to the cog's loops is in ``tests/cog/test_cog_clock_steps.py``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import pytest

from monitoring_cog.collectors.periodic import PeriodicMethod, PeriodicTask, periodic

INTERVAL = 0.05


class Recorder:
    """A callback noting the event loop time each iteration starts, optionally slow or failing."""

    def __init__(self, *, takes: float = 0.0, fail_on: tuple[int, ...] = ()) -> None:
        self.starts: list[float] = []
        self.takes = takes
        self.fail_on = fail_on
        self.enough = asyncio.Event()
        self.wanted = 0

    async def __call__(self) -> None:
        self.starts.append(asyncio.get_running_loop().time())
        if len(self.starts) >= self.wanted:
            self.enough.set()
        if self.takes:
            await asyncio.sleep(self.takes)
        if len(self.starts) in self.fail_on:
            raise RuntimeError(f"iteration {len(self.starts)} failed")

    async def wait_for(self, count: int) -> None:
        self.wanted = count
        if len(self.starts) < count:
            async with asyncio.timeout(10.0):  # A hang guard only.
                await self.enough.wait()


def gaps(starts: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(starts)]


async def test_iterations_start_every_interval_however_long_each_takes() -> None:
    # Each iteration takes 60 % of the interval: sleeping *after* each, the schedule would
    # start one every 1.6 intervals and drift further every time.
    work = Recorder(takes=INTERVAL * 0.6)
    task = PeriodicTask(work, seconds=INTERVAL)
    task.start()
    await work.wait_for(9)
    await task.stop()

    span = work.starts[8] - work.starts[0]
    assert 8 * INTERVAL <= span < 8 * INTERVAL * 1.3
    assert task.iterations == len(work.starts)


async def test_an_iteration_that_raises_is_logged_and_the_schedule_carries_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = Recorder(fail_on=(2, 3))
    task = PeriodicTask(work, seconds=INTERVAL / 5, name="flaky work")
    task.start()
    await work.wait_for(5)
    await task.stop()

    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == [
        "monitoring: flaky work failed; it runs again in 0.01 s"
    ] * 2
    assert [str(r.exc_info[1]) for r in failures if r.exc_info] == [
        "iteration 2 failed",
        "iteration 3 failed",
    ]


async def test_an_overrun_is_followed_at_once_but_missed_slots_are_not_caught_up() -> None:
    slow_first = Recorder()
    original = slow_first.__call__

    async def first_takes_four_slots() -> None:
        await original()
        if len(slow_first.starts) == 1:
            await asyncio.sleep(INTERVAL * 4)

    task = PeriodicTask(first_takes_four_slots, seconds=INTERVAL)
    task.start()
    await slow_first.wait_for(4)
    await task.stop()

    first, *rest = gaps(slow_first.starts)
    assert INTERVAL * 4 <= first < INTERVAL * 5  # The next one as soon as the overrun ended...
    assert all(gap >= INTERVAL * 0.5 for gap in rest)  # ...then on the interval: no burst.


async def test_before_runs_once_before_the_first_iteration() -> None:
    order: list[str] = []
    work = Recorder()

    async def before() -> None:
        order.append("before")
        await asyncio.sleep(INTERVAL)

    async def iteration() -> None:
        order.append("iteration")
        await work()

    task = PeriodicTask(iteration, seconds=INTERVAL / 5, before=before)
    task.start()
    await work.wait_for(3)
    await task.stop()

    assert order[:4] == ["before", "iteration", "iteration", "iteration"]
    assert order.count("before") == 1


async def test_a_failing_before_is_logged_and_nothing_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    work = Recorder()

    async def before() -> None:
        raise ConnectionError("never ready")

    task = PeriodicTask(work, seconds=INTERVAL, before=before, name="picky work")
    await asyncio.wait_for(task.start(), 10.0)

    assert work.starts == []
    assert not task.is_running()
    assert any(
        r.getMessage() == "monitoring: picky work could not start" and r.exc_info
        for r in caplog.records
    )


async def test_stop_cancels_the_iteration_in_progress_and_waits_for_the_task() -> None:
    entered, cancelled = asyncio.Event(), asyncio.Event()

    async def forever() -> None:
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    task = PeriodicTask(forever, seconds=INTERVAL)
    running = task.start()
    await entered.wait()
    assert task.is_running() and task.get_task() is running

    await task.stop()

    assert running.done() and running.cancelled()
    assert cancelled.is_set()
    assert not task.is_running()
    await task.stop()  # Stopping again (or a schedule never started) does nothing.
    await PeriodicTask(forever, seconds=INTERVAL).stop()


async def test_a_caller_cancelled_while_stopping_is_still_cancelled() -> None:
    async def slow_to_cancel() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.sleep(INTERVAL * 2)  # The iteration takes a while to wind down.

    task = PeriodicTask(slow_to_cancel, seconds=INTERVAL)
    task.start()
    await asyncio.sleep(0)
    stopping = asyncio.create_task(task.stop())
    await asyncio.sleep(INTERVAL / 2)
    stopping.cancel()

    with pytest.raises(asyncio.CancelledError):
        await stopping


async def test_starting_twice_is_refused() -> None:
    task = PeriodicTask(Recorder(), seconds=INTERVAL, name="once")
    task.start()
    try:
        with pytest.raises(RuntimeError, match="once is already running"):
            task.start()
    finally:
        await task.stop()


async def test_calling_it_runs_one_iteration_now_and_lets_its_errors_through() -> None:
    work = Recorder(fail_on=(2,))
    task = PeriodicTask(work, seconds=3600.0)

    await task()
    with pytest.raises(RuntimeError, match="iteration 2 failed"):
        await task()

    assert len(work.starts) == 2
    assert task.get_task() is None  # No schedule was started.
    assert task.iterations == 0


async def test_change_interval_applies_from_the_next_sleep() -> None:
    work = Recorder()
    task = PeriodicTask(work, seconds=3600.0)
    task.change_interval(seconds=INTERVAL)
    assert task.seconds == INTERVAL
    task.start()
    await work.wait_for(3)
    await task.stop()

    assert len(work.starts) >= 3


@pytest.mark.parametrize("seconds", [0.0, -1.0, float("nan")])
def test_an_interval_must_be_positive(seconds: float) -> None:
    with pytest.raises(ValueError, match="expected an interval in seconds > 0"):
        PeriodicTask(Recorder(), seconds=seconds)
    with pytest.raises(ValueError, match="expected an interval in seconds > 0"):
        PeriodicTask(Recorder(), seconds=1.0).change_interval(seconds=seconds)


class Pinger:
    """An owner of a periodic method, as the cog is."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.pings: list[str] = []
        self.ready = asyncio.Event()

    @periodic(seconds=INTERVAL)
    async def ping(self) -> None:
        self.pings.append(self.name)

    @ping.before_loop
    async def _wait_until_ready(self) -> None:
        await self.ready.wait()


async def test_a_periodic_method_gives_each_instance_a_task_of_its_own() -> None:
    first, second = Pinger("first"), Pinger("second")

    assert isinstance(Pinger.ping, PeriodicMethod)
    assert first.ping is first.ping  # The same task at every access.
    assert first.ping is not second.ping
    assert first.ping.name == "Pinger.ping"
    assert first.ping.seconds == INTERVAL

    await first.ping()  # One iteration, no schedule.
    assert first.pings == ["first"] and second.pings == []

    first.ping.start()
    second.ping.start()
    await asyncio.sleep(INTERVAL * 2)
    assert first.pings == ["first"]  # Waiting in before_loop.
    first.ready.set()
    for _ in range(200):
        if len(first.pings) >= 3:
            break
        await asyncio.sleep(INTERVAL / 5)
    await first.ping.stop()
    await second.ping.stop()

    assert len(first.pings) >= 3
    assert second.pings == []  # Its own before_loop never returned.


def test_repr_says_what_and_how_often() -> None:
    task: Any = PeriodicTask(Recorder(), seconds=2.5, name="health check")

    assert repr(task) == "<PeriodicTask 'health check' every 2.5 s, stopped>"
