"""An independent observer of the failover rule: an rtnetlink listener in the router's namespace.

Counts the kernel's own RTM_NEWRULE/RTM_DELRULE notifications for the failover priority, so a
test or benchmark does not take the daemon's word (its `changes` counter) for what it did.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from .netns import sh
from .nsocket import socket_in

from .routerlab import PRIORITY

RTMGRP_IPV4_RULE = 0x80
#: A rule added and removed by sync(): its notification comes after every earlier rule's.
MARKER_PRIORITY, MARKER_TABLE = 32000, 252


@dataclass(frozen=True)
class RuleEvent:
    added: bool    # RTM_NEWRULE (True) or RTM_DELRULE (False)
    at_ns: int     # time.time_ns() when read


@dataclass
class RuleWatch:
    """Rule notifications at ``priority`` in ``netns``, from start() to close()."""

    netns: str
    priority: int = PRIORITY
    events: list[RuleEvent] = field(default_factory=list)
    _sock: socket.socket | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _marker: threading.Event = field(default_factory=threading.Event)

    def start(self) -> RuleWatch:
        def setup(s: socket.socket) -> None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, RTMGRP_IPV4_RULE))
            s.settimeout(0.2)  # to notice close()

        self._sock = socket_in(self.netns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE, setup=setup)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"rulewatch {self.netns}")
        self._thread.start()
        return self

    def _run(self) -> None:
        marshal = MarshalRtnl()
        while not self._stop.is_set():
            try:
                data = self._sock.recv(1 << 16)
            except TimeoutError:
                continue
            now = time.time_ns()
            for msg in marshal.parse(data):
                if msg["event"] not in ("RTM_NEWRULE", "RTM_DELRULE"):
                    continue
                priority = msg.get_attr("FRA_PRIORITY")
                if priority == self.priority:
                    with self._lock:
                        self.events.append(RuleEvent(msg["event"] == "RTM_NEWRULE", now))
                elif priority == MARKER_PRIORITY and msg["event"] == "RTM_DELRULE":
                    self._marker.set()

    def sync(self, timeout: float = 5.0) -> None:
        """Return once every rule notification sent before this call has been read."""
        self._marker.clear()
        for verb in ("add", "del"):
            sh("ip", "-n", self.netns, "rule", verb, "priority", str(MARKER_PRIORITY), "lookup", str(MARKER_TABLE))
        if not self._marker.wait(timeout):
            raise TimeoutError("the rule listener did not see its marker rule")

    def snapshot(self) -> list[RuleEvent]:
        with self._lock:
            return list(self.events)

    @property
    def changes(self) -> int:
        return len(self.snapshot())

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._sock is not None:
            self._sock.close()

    def __enter__(self) -> RuleWatch:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()
