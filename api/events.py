"""The sidecar's live events: the log of decisions (last 200 kept) and the fan-out to
server-sent-event subscribers.

Producers call :meth:`EventHub.log` (kinds ``wan``, ``failover``, ``election``, ``gateway``) and
:meth:`EventHub.state` (the new ``GET /api/v1/state`` object). Each subscriber has a bounded queue;
one that cannot keep up is dropped (its stream ends and the browser reconnects) rather than
growing memory or slowing the producers.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

HISTORY = 200
QUEUE = 1000

#: (SSE event name, JSON-able data)
Item = tuple[str, Any]


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    #: Set when the queue overflowed: the stream must end.
    dropped: bool = False


class EventHub:
    def __init__(self, history: int = HISTORY) -> None:
        self.history: deque[dict[str, Any]] = deque(maxlen=history)
        self._subscribers: set[Subscription] = set()

    def log(self, kind: str, message: str, **extra: Any) -> dict[str, Any]:
        event = {"ts": time.time(), "kind": kind, "message": message, **extra}
        self.history.append(event)
        self._fan_out((kind, event))
        return event

    def state(self, state: dict[str, Any]) -> None:
        self._fan_out(("state", state))

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    @property
    def subscribers(self) -> int:
        return len(self._subscribers)

    def _fan_out(self, item: Item) -> None:
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                sub.dropped = True
                self._subscribers.discard(sub)
