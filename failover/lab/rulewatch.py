"""Independent observers of the failover rules and routes: rtnetlink listeners in the router's namespace.

They count the kernel's own notifications, so a test or benchmark does not take the daemon's word
(its `changes` counter, its `state` line) for what it did. One listener (:class:`RtnlWatch`: the
multicast groups asked for, every message handed to a callback in the kernel's order) carries
both observers:

* :class:`RuleWatch`: the IPv4 rule at the failover priority, each add and delete with its time;
* :class:`FibWatch`: the rules at the failover priority in both families and the routes of
  table T in both, kept as the kernel announced them.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyroute2.netlink.rtnl.marshal import MarshalRtnl

from .netns import sh
from .nsocket import socket_in

from .routerlab import PRIORITY, TABLE

# rtnetlink multicast groups, as bind() takes them (RTNLGRP_<name> n is bit n-1)
RTMGRP_LINK = 1 << (1 - 1)
RTMGRP_IPV4_ROUTE = 1 << (7 - 1)
RTMGRP_IPV4_RULE = 1 << (8 - 1)
RTMGRP_IPV6_ROUTE = 1 << (11 - 1)
RTMGRP_IPV6_RULE = 1 << (19 - 1)
#: A rule added and removed by sync(): its notification comes after every earlier one's.
MARKER_PRIORITY, MARKER_TABLE = 32000, 252

RULE_EVENTS = ("RTM_NEWRULE", "RTM_DELRULE")
ROUTE_EVENTS = ("RTM_NEWROUTE", "RTM_DELROUTE")


class RtnlWatch:
    """rtnetlink notifications of ``groups`` in ``netns``, from start() to close(): each parsed
    message goes to ``on_message(msg, at_ns)`` (``at_ns``: time.time_ns() when read) on the
    reader thread. IPv4 rule notifications come whatever the groups (sync()'s marker is one; the
    marker itself is kept from the callback)."""

    def __init__(self, netns: str, groups: int, on_message: Callable[[Any, int], None]) -> None:
        self.netns, self.groups, self.on_message = netns, groups, on_message
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._marker = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> RtnlWatch:
        def setup(s: socket.socket) -> None:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            s.bind((0, self.groups | RTMGRP_IPV4_RULE))  # the marker's group, for sync()
            s.settimeout(0.2)  # to notice close()

        self._sock = socket_in(self.netns, socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE, setup=setup)
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"rtnlwatch {self.netns}")
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
                if msg["event"] in RULE_EVENTS and msg.get_attr("FRA_PRIORITY") == MARKER_PRIORITY:
                    if msg["event"] == "RTM_DELRULE":
                        self._marker.set()
                else:
                    self.on_message(msg, now)

    def sync(self, timeout: float = 5.0) -> None:
        """Return once every notification sent before this call has been handed on."""
        self._marker.clear()
        for verb in ("add", "del"):
            sh("ip", "-n", self.netns, "rule", verb, "priority", str(MARKER_PRIORITY), "lookup", str(MARKER_TABLE))
        if not self._marker.wait(timeout):
            raise TimeoutError("the rtnetlink listener did not see its marker rule")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self._sock is not None:
            self._sock.close()


class _Observer:
    """An observer over one :class:`RtnlWatch` of its ``GROUPS``, fed to its ``_note``."""

    GROUPS: int
    netns: str
    _watch: RtnlWatch | None

    def _note(self, msg: Any, at_ns: int) -> None:
        raise NotImplementedError

    def start(self):
        self._watch = RtnlWatch(self.netns, self.GROUPS, self._note).start()
        return self

    def sync(self, timeout: float = 5.0) -> None:
        """Return once every notification sent before this call has been read."""
        assert self._watch is not None
        self._watch.sync(timeout)

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class RuleEvent:
    added: bool    # RTM_NEWRULE (True) or RTM_DELRULE (False)
    at_ns: int     # time.time_ns() when read


@dataclass
class RuleWatch(_Observer):
    """IPv4 rule notifications at ``priority`` in ``netns``, from start() to close()."""

    netns: str
    priority: int = PRIORITY
    events: list[RuleEvent] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _watch: RtnlWatch | None = None

    GROUPS = RTMGRP_IPV4_RULE

    def _note(self, msg: Any, at_ns: int) -> None:
        if msg["event"] in RULE_EVENTS and msg.get_attr("FRA_PRIORITY") == self.priority:
            with self._lock:
                self.events.append(RuleEvent(msg["event"] == "RTM_NEWRULE", at_ns))

    def snapshot(self) -> list[RuleEvent]:
        with self._lock:
            return list(self.events)

    @property
    def changes(self) -> int:
        return len(self.snapshot())


Route = tuple[str, str | None, int | None]   # (dst "prefix/len" or "default", gateway, oif)


@dataclass
class FibWatch(_Observer):
    """The rules at ``priority`` and the routes of table ``table`` in ``netns``, both families,
    from start(): counted and kept as the kernel announced them (never read back from the daemon)."""

    netns: str
    priority: int = PRIORITY
    table: int = TABLE
    rules4: int = 0          # IPv4 rules at the priority now
    rules6: int = 0          # IPv6 rules at the priority now
    max_rules6: int = 0      # the most IPv6 rules there ever were at once
    rule4_adds: int = 0
    routes4: set[Route] = field(default_factory=set)
    routes6: set[Route] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _watch: RtnlWatch | None = None

    GROUPS = RTMGRP_IPV4_RULE | RTMGRP_IPV6_RULE | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE

    def _note(self, msg: Any, _at_ns: int) -> None:
        event, family = msg["event"], msg["family"]
        with self._lock:
            if event in RULE_EVENTS and msg.get_attr("FRA_PRIORITY") == self.priority:
                self._rule(family, event == "RTM_NEWRULE")
            elif event in ROUTE_EVENTS and (msg.get_attr("RTA_TABLE") or msg["table"]) == self.table:
                dst = msg.get_attr("RTA_DST")
                key = (f"{dst}/{msg['dst_len']}" if dst else "default", msg.get_attr("RTA_GATEWAY"),
                       msg.get_attr("RTA_OIF"))
                routes = self.routes6 if family == socket.AF_INET6 else self.routes4
                (routes.add if event == "RTM_NEWROUTE" else routes.discard)(key)

    def _rule(self, family: int, added: bool) -> None:
        step = 1 if added else -1
        if family == socket.AF_INET6:
            self.rules6 += step
            self.max_rules6 = max(self.max_rules6, self.rules6)
        elif family == socket.AF_INET:
            self.rules4 += step
            self.rule4_adds += added

    def snapshot(self) -> tuple[int, int, frozenset[Route]]:
        """(IPv4 rules, IPv6 rules, IPv6 routes of the table) now."""
        with self._lock:
            return self.rules4, self.rules6, frozenset(self.routes6)
