"""The WAN device's flags as the daemon reads them (admin up, running), followed by rtnetlink.

The decision journal records the WAN's link changes (failover/sidecar/recorder.py): the daemon
decides failover on ``IFF_UP`` and ``IFF_RUNNING`` of the device of that name (no device: both
false), and so does this watcher, from ``RTM_NEWLINK``/``RTM_DELLINK`` notifications read as they
come (``loop.add_reader``) and a first read by name. A netlink message has no kernel timestamp:
the time is when the loop read it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from collections.abc import Callable

from ..host import rtnl
from ..host.constants import IFF_RUNNING, IFF_UP
from .linkcounters import LinkReader

__all__ = ["WanLink"]

log = logging.getLogger("failover.wanlink")

RTMGRP_LINK = 0x1

#: ``on_change(admin, carrier)``.
ChangeHandler = Callable[[bool, bool], None]


def _admin_carrier(flags: int) -> tuple[bool, bool]:
    return bool(flags & IFF_UP), bool(flags & IFF_RUNNING)


class WanLink:
    """Calls ``on_change`` with the first view of device ``name`` and with every change of it."""

    def __init__(self, name: str, on_change: ChangeHandler) -> None:
        self.name = name
        self.on_change = on_change
        self.state: tuple[bool, bool] | None = None
        self._sock: socket.socket | None = None

    def start(self) -> None:
        # Subscribe before the read, so no change falls between them.
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK,
                             socket.NETLINK_ROUTE)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            sock.bind((0, RTMGRP_LINK))
        except OSError:
            sock.close()
            raise
        self._sock = sock
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)
        self._resync()

    def _resync(self) -> None:
        reader = LinkReader(self.name)
        try:
            link = reader.read()
        except OSError as e:
            log.warning("cannot read %s: %s", self.name, e)
            return
        finally:
            reader.close()
        self._set(_admin_carrier(link.flags) if link is not None else (False, False))

    def _set(self, state: tuple[bool, bool]) -> None:
        if state != self.state:
            self.state = state
            self.on_change(*state)

    def _readable(self) -> None:
        assert self._sock is not None
        while True:
            try:
                data = self._sock.recv(1 << 16)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:
                if e.errno == errno.ENOBUFS:  # notifications were dropped: read the device again
                    self._resync()
                    continue
                raise
            for kind, _flags, _seq, payload in rtnl.messages(data):
                if kind in (rtnl.RTM_NEWLINK, rtnl.RTM_DELLINK):
                    record = rtnl.decode_link(payload)
                    if record.name.decode(errors="replace") == self.name:
                        self._set(_admin_carrier(record.flags) if kind == rtnl.RTM_NEWLINK else (False, False))

    def close(self) -> None:
        if self._sock is not None:
            asyncio.get_running_loop().remove_reader(self._sock.fileno())
            self._sock.close()
            self._sock = None
