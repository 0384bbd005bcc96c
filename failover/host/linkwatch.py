"""Netdevice events from rtnetlink link notifications.

The kernel's netdevice chain is not visible from user space; what is visible is the
``RTM_NEWLINK``/``RTM_DELLINK`` stream. ``events`` turns two successive views of a link into the
events a notifier would have seen (``link_events`` is pure, the watcher thread is its shell).
The watcher sees the links of its own network namespace only (the kernel chain sees all).
"""

from __future__ import annotations

import errno
import select
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from . import rtnl
from .constants import IFF_RUNNING, IFF_UP, NETDEV

RTMGRP_LINK = 0x1

Listener = Callable[[int, str], None]


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    flags: int

    @property
    def up(self) -> bool:
        return bool(self.flags & IFF_UP)

    @property
    def carrier(self) -> bool:
        # Operational state, as linkwatch's NETDEV_CHANGE follows it (IFF_LOWER_UP alone
        # flips a moment earlier and would give a second CHANGE).
        return bool(self.flags & IFF_RUNNING)


def link_events(old: Link | None, new: Link | None) -> list[tuple[int, str]]:
    """The netdevice events between two views of one link (None: not registered)."""
    if new is None:
        if old is None:
            return []
        evs = [(NETDEV["GOING_DOWN"], old.name), (NETDEV["DOWN"], old.name)] if old.up else []
        return evs + [(NETDEV["UNREGISTER"], old.name)]
    evs: list[tuple[int, str]] = []
    if old is None:
        evs.append((NETDEV["REGISTER"], new.name))
        old = Link(new.index, new.name, 0)
    elif old.name != new.name:
        evs.append((NETDEV["CHANGENAME"], new.name))
    if new.up and not old.up:
        evs += [(NETDEV["PRE_UP"], new.name), (NETDEV["UP"], new.name)]
        if new.carrier:
            evs.append((NETDEV["CHANGE"], new.name))
    elif old.up and not new.up:
        # The admin edge is what the chain reports; the carrier drop under it is implied.
        evs += [(NETDEV["GOING_DOWN"], new.name), (NETDEV["DOWN"], new.name)]
    elif new.up and old.carrier != new.carrier:
        evs.append((NETDEV["CHANGE"], new.name))
    return evs


def _link(record: rtnl.LinkRecord) -> Link:
    return Link(record.ifindex, record.name.decode(errors="replace"), record.flags)


class LinkWatch:
    """One rtnetlink monitor shared by every notifier of a kernel; started on first use."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._links: dict[int, Link] = {}
        self._listeners: list[Listener] = []
        self._mon: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()

    def _start(self) -> None:
        # Subscribe before the dump, so no change can fall between them; a message that the
        # dump already reflects yields no event, since events come from flag differences.
        # A plain netlink socket, so that select() sees every message.
        self._mon = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, socket.NETLINK_ROUTE)
        self._mon.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self._mon.bind((0, RTMGRP_LINK))
        self._resync()
        self._thread = threading.Thread(target=self._run, name="linkwatch", daemon=True)
        self._thread.start()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Replay REGISTER (and UP for devices that are up) synchronously, then follow changes."""
        with self._lock:
            if self._mon is None:
                self._start()
            for link in sorted(self._links.values(), key=lambda l: l.index):
                listener(NETDEV["REGISTER"], link.name)
                if link.up:
                    listener(NETDEV["UP"], link.name)
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def _resync(self) -> None:
        """Take a fresh dump and apply it as if each link had sent a message."""
        session = rtnl.Session()
        try:
            dumped = {r.ifindex: r for r in session.links()}
        finally:
            session.close()
        with self._lock:
            for index in list(self._links):
                if index not in dumped:
                    self._apply(index, None)
            for index, record in dumped.items():
                self._apply(index, _link(record))

    def _run(self) -> None:
        assert self._mon is not None
        while not self._closing.is_set():
            ready, _, _ = select.select([self._mon], [], [], 0.2)
            if not ready:
                continue
            try:
                data = self._mon.recv(1 << 16)
            except OSError as e:
                if self._closing.is_set():
                    return
                if e.errno == errno.ENOBUFS:
                    # The kernel dropped notifications: rebuild the view from a dump.
                    self._resync()
                    continue
                raise
            for kind, _flags, _seq, payload in rtnl.messages(data):
                if kind in (rtnl.RTM_NEWLINK, rtnl.RTM_DELLINK):
                    self._handle(kind, rtnl.decode_link(payload))

    def _handle(self, kind: int, record: rtnl.LinkRecord) -> None:
        with self._lock:
            self._apply(record.ifindex, _link(record) if kind == rtnl.RTM_NEWLINK else None)

    def _apply(self, index: int, new: Link | None) -> None:
        old = self._links.get(index)
        if new is None:
            self._links.pop(index, None)
        else:
            self._links[index] = new
        for ev, name in link_events(old, new):
            for listener in list(self._listeners):
                listener(ev, name)

    def close(self) -> None:
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._mon is not None:
            self._mon.close()
            self._mon = None
