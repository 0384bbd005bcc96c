"""Ending asyncio tasks that a shell owns (a prober's loop, a hook runner's worker).

The one asyncio rule the code base keeps everywhere: bound a wait with ``asyncio.timeout``,
never ``asyncio.wait_for``. On Python 3.11 ``wait_for`` can swallow a cancellation that arrives
as its inner future completes, so a task being stopped runs on (a sidecar that does not stop, a
request that outlives its client). ``tests/unit/test_layering.py`` holds every module to it.
"""

from __future__ import annotations

import asyncio

__all__ = ["cancel_and_wait"]


async def cancel_and_wait(*tasks: asyncio.Task | None) -> None:
    """Cancel ``tasks`` (None: nothing there) and return once every one has finished.

    Their own cancellation is not the caller's: it is not raised here, while a cancellation of
    the caller meanwhile is. An exception a task ended with before (a crash) is raised, as
    awaiting it would.
    """
    live = [t for t in tasks if t is not None]
    for t in live:
        t.cancel()
    if not live:
        return
    await asyncio.wait(live)
    for t in live:
        if not t.cancelled():
            t.result()
