"""failover/tasks.py: ending the tasks a shell owns, without swallowing the caller's own cancellation."""

from __future__ import annotations

import asyncio

import pytest

from failover.tasks import cancel_and_wait


async def _forever() -> None:
    await asyncio.sleep(3600)


def test_cancels_every_task_and_returns_once_they_are_done():
    async def main():
        tasks = [asyncio.create_task(_forever()) for _ in range(3)]
        await cancel_and_wait(*tasks, None)
        assert all(t.cancelled() for t in tasks)
        await cancel_and_wait(None)  # nothing there: nothing to do

    asyncio.run(main())


def test_a_crash_the_task_ended_with_is_raised():
    async def crash():
        raise RuntimeError("boom")

    async def main():
        task = asyncio.create_task(crash())
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="boom"):
            await cancel_and_wait(task)

    asyncio.run(main())


def test_the_callers_own_cancellation_is_not_swallowed():
    """A task that takes its time to end (clean-up after its cancellation) while whoever stops it
    is itself cancelled: the stopper stops, as awaiting with try/except CancelledError would not."""
    ending = asyncio.Event()

    async def slow_to_end():
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            ending.set()
            await asyncio.sleep(0.5)
            raise

    async def main():
        task = asyncio.create_task(slow_to_end())
        await asyncio.sleep(0)
        stopper = asyncio.create_task(cancel_and_wait(task))
        await ending.wait()
        stopper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await stopper
        await asyncio.wait([task])

    asyncio.run(main())
