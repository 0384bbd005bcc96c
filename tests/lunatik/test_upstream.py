"""Lunatik's own test scripts, unmodified (tests/lunatik/upstream, see PROVENANCE there), run
under `failover lunatik` as a real process.

Each case does what the test's upstream *.sh harness does on a kernel: `lunatik run`/`spawn`,
then the same checks on the kernel log. The host prints a script's `print` lines on stdout (the
kernel log) and a load error or a later callback/thread error on stderr, so:
- `run_script` (any output of `lunatik run` fails)  -> nothing on stderr for a load error;
- `check_dmesg` (any `*.lua:N:` line fails)         -> no such line on stdout or stderr, exit 0;
- `dmesg | grep -q "..."`                           -> the line is on stdout;
- util.test's `FAIL<tab>` lines (run_test)          -> no such line.
Scripts that touch the network run in a fresh namespace of their own. docs/lunatik.md lists
every upstream test: these cases, and why each other one cannot apply outside a kernel.
"""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from failover.lab.builder import Network
from failover.lab.spec import Topology

REPO = Path(__file__).resolve().parents[2]
UPSTREAM = REPO / "tests" / "lunatik" / "upstream"
LUA_ERROR = re.compile(r"\.lua:\d+:")


@dataclass(frozen=True)
class Case:
    words: tuple[str, ...]  # after `failover lunatik --root UPSTREAM --for SECONDS`
    expect: tuple[str, ...] = ()  # lines the harness greps for in dmesg
    seconds: str = "0"
    netns: bool = False
    devices: tuple[tuple[str, ...], ...] = ()  # `ip link add ...` in the namespace first
    load_error: str | None = None  # the harness expects this in `lunatik run`'s output
    files: tuple[str, ...] = ()  # fixed paths the harness removes before and after


def run(*script: str) -> tuple[str, ...]:
    return ("run", *script)


CASES = {
    "struct/test": Case(run("tests/struct/test"), ("struct: all tests passed",)),
    "netlink/message": Case(
        run("tests/netlink/message"), ("netlink message: round-trip ok", "netlink message: edge cases ok")
    ),
    "netlink/session": Case(
        run("tests/netlink/session"),
        (
            "netlink session: dump empty-read ok",
            "netlink session: dump drains a MULTI reply ok",
            "netlink session: talk drains the ack",
            "netlink session: talk raises on error",
        ),
    ),
    "netlink/socket": Case(
        run("tests/netlink/socket"),
        ("netlink socket: getsockname ok", "netlink socket: GETLINK round-trip ok"),
        netns=True,
    ),
    "socket/setsockopt": Case(
        run("tests/socket/setsockopt"),
        ("socket setsockopt: integer option set", "socket setsockopt: bounded receive returned"),
        netns=True,
    ),
    "netlink/addr_list": Case(
        run("tests/netlink/addr_list"),
        ("netlink addr_list: 127.0.0.1 found", "netlink addr_list: prefix_len ok"),
        netns=True,
    ),
    "netlink/link_list": Case(
        run("tests/netlink/link_list"), ("netlink link_list: lo found", "netlink link_list: mtu ok"), netns=True
    ),
    "netlink/route_list": Case(
        run("tests/netlink/route_list"),
        ("netlink route_list: routes found", "netlink route_list: fields ok"),
        netns=True,
    ),
    # upstream adds a dummy device; this machine has no dummy module, a veth end is the same
    # to the script (a down link of that name)
    "netlink/link_updown": Case(
        run("tests/netlink/link_updown"),
        ("netlink link_updown: brought up", "netlink link_updown: brought down"),
        netns=True,
        devices=(("lunatikdummy0", "type", "veth", "peer", "name", "lunatikpeer0"),),
    ),
    "netlink/route_adddel": Case(
        run("tests/netlink/route_adddel"),
        ("netlink route_adddel: added", "netlink route_adddel: duplicate add raises", "netlink route_adddel: deleted"),
        netns=True,
    ),
    "netlink/genl_family": Case(
        run("tests/netlink/genl_family"),
        (
            "netlink genl_family: nlctrl resolved",
            "netlink genl_family: call round-trip ok",
            "netlink genl_family: dump lists families",
            "netlink genl_family: missing family errors",
        ),
        netns=True,
    ),
    "netlink/rule_adddel": Case(
        run("tests/netlink/rule_adddel"),
        (
            "netlink rule_adddel: added",
            "netlink rule_adddel: duplicate add raises",
            "netlink rule_adddel: deleted",
            "netlink rule_adddel: small-table added",
            "netlink rule_adddel: small-table deleted",
        ),
        netns=True,
    ),
    "notifier/context_mismatch": Case(run("tests/notifier/context_mismatch"), load_error="runtime context mismatch"),
    "notifier/init_dispatch": Case(run("tests/notifier/init_dispatch"), netns=True),
    "runtime/require_cloneobject": Case(run("tests/runtime/require_cloneobject")),
    "runtime/resume_shared": Case(run("tests/runtime/resume_shared")),
    "runtime/resume_mailbox": Case(run("tests/runtime/resume_mailbox")),
    "runtime/rcu_shared": Case(run("tests/runtime/rcu_shared")),
    "runtime/opt_guards": Case(run("tests/runtime/opt_guards")),
    # map_sync.sh spawns the reader (which spawns the writer), waits 5 s and stops both; the
    # reader's line proves they ran together (upstream checks only for Lua errors)
    "rcu/map_sync": Case(("spawn", "tests/rcu/map_sync"), ("map_sync: reader found entry written",), seconds="5"),
    "rcu/map_values": Case(run("tests/rcu/map_values")),
    "rcu/newobject_oom": Case(run("tests/rcu/newobject_oom")),
    # gc.sh spawns it for 1 s; on a kernel it proves the collector never runs under a spinlock
    "monitor/gc": Case(("spawn", "tests/monitor/gc"), seconds="1"),
    "thread/shouldstop_run": Case(run("tests/thread/shouldstop_run")),
    "thread/shouldstop": Case(("spawn", "tests/thread/shouldstop"), ("shouldstop: ok",), seconds="1"),
    "thread/run_during_load": Case(run("tests/thread/run_during_load"), load_error="not allowed during module load"),
    "io/test": Case(run("tests/io/test"), files=("/tmp/lunatik_io_test",)),
    "io/softirq": Case(run("tests/io/softirq", "softirq"), ("io: softirq guard ok",)),
    "socket/unix/stream": Case(
        ("spawn", "tests/socket/unix/stream_server", "run", "tests/socket/unix/stream_client"),
        ("unix stream: server ok", "unix stream: client ok"),
        seconds="1",
        files=("/tmp/lunatik_unix_stream.sock",),
    ),
    "socket/unix/dgram": Case(
        ("spawn", "tests/socket/unix/dgram_server", "run", "tests/socket/unix/dgram_client"),
        ("unix dgram: server ok", "unix dgram: client ok"),
        seconds="1",
        files=("/tmp/lunatik_unix_dgram.sock", "/tmp/lunatik_unix_dgram_client.sock"),
    ),
    "crypto/hkdf": Case(run("tests/crypto/hkdf")),
    "crypto/rng": Case(run("tests/crypto/rng")),
    "crypto/shash": Case(run("tests/crypto/shash")),
    "set/set": Case(run("tests/set/set")),
}


def remove(paths: tuple[str, ...]) -> None:
    for p in paths:
        Path(p).unlink(missing_ok=True)


@pytest.mark.parametrize(
    "name", [pytest.param(n, marks=[pytest.mark.netns] if c.netns else []) for n, c in CASES.items()]
)
def test_lunatik_upstream(name):
    case = CASES[name]
    argv = [sys.executable, "-m", "failover.cli", "lunatik", "--root", str(UPSTREAM), "--for", case.seconds,
            *case.words]
    nets = Network(Topology(f"lk{uuid.uuid4().hex[:6]}")) if case.netns else None
    remove(case.files)
    try:
        if nets is not None:
            nets.add("t")
            for device in case.devices:
                nets.ip("t", "link", "add", *device)
            argv = ["ip", "netns", "exec", nets.ns("t"), *argv]
        proc = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=60)
    finally:
        if nets is not None:
            nets.teardown()
        remove(case.files)
    log = proc.stdout.splitlines()
    report = f"exit {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
    if case.load_error is not None:
        assert case.load_error in proc.stderr, report
        return
    assert proc.returncode == 0 and proc.stderr == "", report
    assert not any(LUA_ERROR.search(line) for line in log), report
    assert not any(line.startswith("FAIL\t") for line in log), report
    for expected in case.expect:
        assert any(expected in line for line in log), f"{expected!r} not logged\n{report}"
