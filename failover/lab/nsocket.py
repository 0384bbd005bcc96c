"""Work done inside another network namespace, from this process.

``setns`` changes the calling thread only, and a socket belongs to the namespace of the thread
that creates it. So a thread enters the namespace and does the work (or creates the socket and
exits): the caller keeps its own namespace and one clock for every namespace.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable
from typing import TypeVar

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)
T = TypeVar("T")


def enter(netns: str) -> None:
    """Move the calling thread into ``netns`` (a name under /run/netns)."""
    fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {netns}")
    finally:
        os.close(fd)


def run_in(netns: str, fn: Callable[..., T], *args) -> T:
    """``fn(*args)`` in a thread that joined ``netns``; its result, or its exception re-raised."""
    result: dict = {}

    def body() -> None:
        try:
            enter(netns)
            result["value"] = fn(*args)
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = e

    t = threading.Thread(target=body)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def socket_in(netns: str, *args, setup=None) -> socket.socket:
    """A socket of ``netns`` (``socket.socket(*args)``, then ``setup(sock)`` there)."""

    def make() -> socket.socket:
        s = socket.socket(*args)
        if setup:
            setup(s)
        return s

    return run_in(netns, make)
