"""The API's live stream: the core's domain events fanned out to server-sent-event subscribers.

The hub subscribes once to the core (:meth:`failover.sidecar.coreview.CoreView.subscribe`) and turns each
event into its SSE form: a log event (kinds ``wan``, ``failover``, ``election``, ``gateway``) as
its log entry, a state change as the new ``GET /api/v1/state`` object. Each subscriber has a
bounded queue; one that cannot keep up is dropped (its stream ends and the browser reconnects)
rather than growing memory or slowing the core. The number of subscribers is bounded too
(``max_subscribers``): past it :meth:`EventHub.subscribe` answers None.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from failover.core.events import Event, StateChanged, log_entry

from .views import state_model

QUEUE = 1000

#: (SSE event name, JSON-able data)
Item = tuple[str, Any]


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Item] = field(default_factory=lambda: asyncio.Queue(QUEUE))
    #: Set when the queue overflowed: the stream must end.
    dropped: bool = False


def sse_item(event: Event) -> Item:
    if isinstance(event, StateChanged):
        return "state", state_model(event.state).model_dump()
    return event.kind, log_entry(event)


class EventHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscription] = set()

    def publish(self, event: Event) -> None:
        if self._subscribers:
            self._fan_out(sse_item(event))

    def subscribe(self) -> Subscription:
        sub = Subscription()
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def _fan_out(self, item: Item) -> None:
        for sub in list(self._subscribers):
            try:
                sub.queue.put_nowait(item)
            except asyncio.QueueFull:
                sub.dropped = True
                self._subscribers.discard(sub)
