"""The narrow interface between the measuring core and whatever shows or commands it (the API).

Read: one :class:`~failover.core.views.Snapshot` (state, gateways, counters — one consistent
moment) and the recent log; command: pin/unpin; follow: subscribe to the domain events
(:mod:`failover.core.events`).
:class:`failover.sidecar.core.Sidecar` implements it in process; :class:`failover.sidecar.coreipc.RemoteCore`
implements it in the API's process over a socket to the core's process. ``api/`` knows only this, and the views and
events it speaks of.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ..core.events import Event, LogEvent
from ..core.views import ElectedView, Snapshot

__all__ = ["CoreView"]


class CoreView(Protocol):
    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def snapshot(self) -> Snapshot: ...

    def history(self) -> Sequence[LogEvent]: ...

    async def pin(self, address: str) -> ElectedView:
        """Raises :class:`UnknownGateway` or :class:`GatewayDown`."""

    async def unpin(self) -> ElectedView: ...

    def subscribe(self, listener: Callable[[Event], None]) -> Callable[[], None]:
        """Call ``listener`` with every event from now on; returns the unsubscribe call."""
