"""Benchmark: the WAN device deleted and created again (same name, new ifindex): failover while it
is gone, failback once it is back.

    .venv/bin/python -m bench.wan_recreate [--trials 5] [--gone-s 3]

Topology and system under test as bench.outage (conf/lab.toml's lab under a private prefix,
`failover run` on the router, path check every 5 ms to the internet host; failback hold-down
off between trials, failover/lab/routerlab.py NO_HOLD: min_clean_ms = 1 s is all that holds failback).

Each trial: `ip link del wan0` in the router (its veth peer isp0 goes with it), --gone-s seconds
later wan0 is created again with the next ifindex (veth, addresses, the router's default and the
ISP's route to the LAN: Lab.add_wan), as a PPPoE reconnect does. Timestamps from an rtnetlink
listener in the router (kernel events, one clock):
  delete -> rule     from just before `ip link del` to RTM_NEWRULE of the failover rule;
  return -> failback from the RTM_NEWLINK of the new wan0 with carrier (IFF_RUNNING) to
                     RTM_DELRULE of the failover rule. Target <= 5 s in every trial.
The flow of bench.outage (1,000 datagram/s) runs throughout and must echo through the WAN again
after each failback.
"""

from __future__ import annotations

import argparse
import queue
import subprocess
import sys
import time

from bench.event_to_rule import expect, rtnl_listener
from bench.labnet import running
from bench.netutil import loadavg
from bench.outage import Flow
from bench.stats import summary
from failover.lab.netns import wait_for

TARGET_S = 5.0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    ap.add_argument("--gone-s", type=float, default=3.0)
    ap.add_argument("--rate", type=int, default=1000)
    args = ap.parse_args()
    failed = False
    with running() as lab:
        events: queue.Queue = queue.Queue()
        lab.closes(rtnl_listener(lab.ns("router"), events))
        flow = lab.closes(Flow.in_lab(lab, args.rate))
        indexes = [int(subprocess.run(["ip", "-n", lab.ns("router"), "-o", "link", "show", "wan0"],
                                      capture_output=True, text=True, check=True).stdout.split(":")[0])]
        print(f"wan_recreate: wan0 deleted, created again {args.gone_s:g} s later with a new ifindex, "
              f"{args.trials} trials; `failover run`, path check 5 ms (load average {loadavg()})")
        to_rule, to_failback, late = [], [], 0
        for i in range(args.trials):
            wait_for(lab.steady, timeout=60, interval=0.05, what="WAN up and failover off")
            wait_for(lambda: flow.healthy(args.rate), timeout=15, interval=0, what="the flow echoing via the ISP")
            while not events.empty():
                events.get()
            t0 = time.time_ns()
            lab.delete_wan()
            to_rule.append((expect(events, "rule", timeout=10) - t0) / 1e6)
            time.sleep(args.gone_s)
            while not events.empty():
                events.get()
            index = (150 + i, 250 + i)
            lab.add_wan(index)
            indexes.append(index[0])
            t_back = expect(events, "link", timeout=10, when=bool)  # wan0 back, with carrier
            try:
                t_unrule = expect(events, "unrule", timeout=30)
            except (TimeoutError, queue.Empty):
                late += 1
                print(f"  trial {i}: no failback within 30 s of wan0's return", file=sys.stderr)
                continue
            to_failback.append((t_unrule - t_back) / 1e9)
            wait_for(lambda: flow.healthy(args.rate), timeout=15, interval=0, what="the flow echoing via the WAN again")
        ok = late == 0 and bool(to_failback) and max(to_failback) <= TARGET_S
        failed |= not ok
        print(f"  ifindexes of wan0      : {' -> '.join(map(str, indexes))}")
        print(f"  delete -> failover rule: {summary(to_rule)}")
        if to_failback:
            print(f"  return -> failback     : {summary(to_failback, 's')}  target <= {TARGET_S:.0f} s in every "
                  f"trial {'MET' if ok else 'MISSED'} ({len(to_failback)}/{args.trials} failed back, {late} never)")
        else:
            print(f"  return -> failback     : never, in {args.trials} trials  target <= {TARGET_S:.0f} s MISSED")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
