"""Sockets created inside another network namespace, from this process.

A socket belongs to the namespace of the thread that creates it; ``setns`` changes the calling
thread only. So a short-lived thread enters the namespace, creates the socket and exits, and the
benchmark then reads it from wherever it likes, with one clock for every namespace.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def socket_in(netns: str, *args, setup=None) -> socket.socket:
    result: dict = {}

    def enter() -> None:
        try:
            fd = os.open(f"/run/netns/{netns}", os.O_RDONLY)
            try:
                if _libc.setns(fd, CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns {netns}")
            finally:
                os.close(fd)
            s = socket.socket(*args)
            if setup:
                setup(s)
            result["sock"] = s
        except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = e

    t = threading.Thread(target=enter)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    return result["sock"]
