"""Why the host and the path check read rtnetlink with their own codec (failover/host/rtnl.py)
and not with pyroute2: the time one read costs, each way, on the same kernel answers.

    python -m bench.rtnl_codec [--links 8] [--reads 2000]

In a namespace of its own with ``--links`` veth pairs (so ``2 * links + 1`` devices), it times
``--reads`` reads of two kinds, each decoded as its caller needs it:

* a link dump, every device's index, flags and name (what the host's ``netlink.rt`` and its
  link watcher read after each event): ``rtnl.Session().links()`` against pyroute2's
  ``IPRoute().get_links()`` with the same fields read from each message;
* one device by name with its counters (what the path check reads every probe interval):
  ``LinkReader.read()`` against pyroute2's ``IPRoute().link("get", ifname=...)`` and its
  ``IFLA_STATS64``.

The target is the reason the codec exists: a link dump read and decoded within a tenth of the
host's event-to-rule budget (p99 5 ms, ``bench.event_to_rule``), so 0.5 ms at the median.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

from failover.lab.netns import sh

TARGET_MS = 0.5


def _timed(read: Callable[[], object], reads: int) -> list[float]:
    for _ in range(50):  # warm the sockets and the caches first
        read()
    out = []
    for _ in range(reads):
        t0 = time.perf_counter_ns()
        read()
        out.append((time.perf_counter_ns() - t0) / 1e6)
    return out


def _row(what: str, ms: list[float], target: bool) -> str:
    q = statistics.quantiles(ms, n=100)
    verdict = f"  target p50 <= {TARGET_MS} ms {'MET' if q[49] <= TARGET_MS else 'MISSED'}" if target else ""
    return f"  {what:38} n={len(ms)} p50={q[49]:.3f}ms p99={q[98]:.3f}ms{verdict}"


def measure(links: int, reads: int) -> None:
    """Inside the namespace: both readers, both kinds of read."""
    from pyroute2 import IPRoute

    from failover.host import rtnl
    from failover.net.linkcounters import LinkReader

    session = rtnl.Session()
    reader = LinkReader("v0")
    with IPRoute() as ipr:
        def ours_dump():
            return [(r.ifindex, r.flags, r.name) for r in session.links()]

        def pyroute2_dump():
            return [(m["index"], m["flags"], m.get_attr("IFLA_IFNAME")) for m in ipr.get_links()]

        def ours_one():
            c = reader.read()
            return c.ifindex, c.flags, c.rx_packets

        def pyroute2_one():
            (m,) = ipr.link("get", ifname="v0")
            stats = m.get_attr("IFLA_STATS64")
            return m["index"], m["flags"], stats["rx_packets"]

        # Both read the same thing before either is timed.
        ours = sorted((i, f, n.decode()) for i, f, n in ours_dump())
        assert ours == sorted(pyroute2_dump()) and len(ours) == 2 * links + 1, (ours, pyroute2_dump())
        assert ours_one() == pyroute2_one()
        rows = [
            _row("link dump, failover/host/rtnl.py", _timed(ours_dump, reads), True),
            _row("link dump, pyroute2 IPRoute", _timed(pyroute2_dump, reads), True),
            _row("one link by name, net/linkcounters.py", _timed(ours_one, reads), False),
            _row("one link by name, pyroute2 IPRoute", _timed(pyroute2_one, reads), False),
        ]
    session.close()
    reader.close()
    print("\n".join(rows), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--links", type=int, default=8, help="veth pairs in the namespace")
    ap.add_argument("--reads", type=int, default=2000)
    ap.add_argument("--inside", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inside:
        measure(args.links, args.reads)
        return 0
    ns = f"af-rtnl-{os.getpid()}"
    sh("ip", "netns", "add", ns)
    try:
        for i in range(args.links):
            sh("ip", "-n", ns, "link", "add", f"v{i}", "type", "veth", "peer", "name", f"v{i}p")
            sh("ip", "-n", ns, "link", "set", f"v{i}", "up")
        print(f"rtnl_codec: {args.reads} reads each in a namespace of {2 * args.links + 1} devices "
              f"(load average at start {' '.join(f'{x:.2f}' for x in os.getloadavg())})", flush=True)
        return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-m", "bench.rtnl_codec", "--inside",
                               "--links", str(args.links), "--reads", str(args.reads)]).returncode
    finally:
        sh("ip", "netns", "del", ns, check=False)


if __name__ == "__main__":
    sys.exit(main())
