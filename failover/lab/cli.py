"""``failover lab ...``: the demo lab's subcommands (added to the main parser by failover/cli.py)."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import signal
import sys
import threading
from pathlib import Path

from . import topology as lab_topology

FAULTS = ("wan-carrier", "wan-path", "wan-path6", "target-silence", "target-clear", "clear")


def _topo(args: argparse.Namespace) -> lab_topology.LabTopology:
    try:
        topo = lab_topology.load(args.lab)
    except lab_topology.LabError as e:
        print(f"failover lab: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    return topo.model_copy(update={"prefix": args.prefix}) if args.prefix else topo


def _lab(args: argparse.Namespace):
    from .namespaces import Lab

    return Lab(_topo(args))


def _per_family(targets, reliability: int) -> str:
    """How the targets judge the path: one verdict, or one per family (a dual-stack lab)."""
    if len({ipaddress.ip_address(t.address).version for t in targets}) == 1:
        return f"the path up while {reliability} answer"
    return f"each family's path up while {reliability} of its own answer"


def cmd_up(args: argparse.Namespace) -> int:
    lab = _lab(args)
    try:
        lab.build()
        lab.start()
    except BaseException as e:
        print(f"failover lab: set-up failed: {e}; tearing down", file=sys.stderr)
        lab.down()
        return 1
    token = lab.token_file.read_text().strip()
    topo = lab.topo
    targets = lab.router_config().wan.target
    silenced = topo.fault_target[1]
    print(f"""
Adaptive Failover lab is up.

  dashboard   http://127.0.0.1:{lab_topology.API_PORT}/        (pin token: {token})
  state       .venv/bin/failover lab status
  path check  {len(targets)} targets beyond the ISP, {_per_family(targets, topo.path.reliability)}:""")
    for t in targets:
        what = "STAMP reflector on the internet host" if t.kind == "stamp" else "answers ICMP echo only"
        print(f"              {t.address:<18} {t.kind:<5} every {t.interval_ms:>3} ms   {what}")
    print(f"""  faults      .venv/bin/failover lab fault wan-carrier     # the ISP side of the WAN loses carrier
              .venv/bin/failover lab fault wan-path        # carrier stays up, the ISP stops forwarding
              .venv/bin/failover lab fault wan-path6       # the ISP stops forwarding IPv6: IPv6 fails over, IPv4 stays
              .venv/bin/failover lab fault target-silence  # {silenced} stops answering: a target fault, no failover
              .venv/bin/failover lab fault target-clear    # {silenced} answers again
              .venv/bin/failover lab fault clear           # all of the above cleared
  logs        {lab.logs}/
""")
    if not args.foreground:
        print("Stop it with: .venv/bin/failover lab down")
        return 0
    print("Ctrl-C stops the lab and removes everything it created.")
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    for line in lab.down():
        print(f"removed {line}")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    for line in _lab(args).down():
        print(f"removed {line}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    from .netns import existing

    lab = _lab(args)
    registry = lab.net.registry
    status = {
        "namespaces": existing(lab.topo.prefix),
        "processes": {name: {"pid": pid, "running": registry.running(name)} for name, pid in registry.pids().items()},
        "daemon": None,
        "flow": None,
        "flow6": None,
    }
    if lab.control_socket.exists():
        from ..core.controlline import STATE
        from ..net.control_client import request_blocking

        try:
            status["daemon"] = request_blocking(str(lab.control_socket), STATE, 2)
        except OSError as e:
            status["daemon"] = f"unreachable: {e}"
    for key, path in (("flow", lab.flow_file), ("flow6", lab.flow6_file)):
        if path.exists():
            status[key] = json.loads(path.read_text())
    if args.json:
        print(json.dumps(status, indent=2))
        return 0 if status["namespaces"] else 1
    if not status["namespaces"]:
        print("no lab is running")
        return 1
    print(f"namespaces: {' '.join(status['namespaces'])}")
    for name, p in status["processes"].items():
        print(f"  {name:20} pid {p['pid']:<8} {'running' if p['running'] else 'NOT RUNNING'}")
    print(f"daemon: {status['daemon']}")
    for key in ("flow", "flow6"):
        if status[key]:
            f = status[key]
            now = f" (no echo for {f['outage_ms']:.0f} ms now)" if f.get("outage_ms") else ""
            print(f"{key}: sent {f['sent']} received {f['received']} loss {f['loss']:.1%} "
                  f"longest outage {f['longest_outage_ms']:.0f} ms{now}")
    return 0


def cmd_fault(args: argparse.Namespace) -> int:
    _lab(args).fault(args.kind)
    print(f"fault {args.kind}: done")
    return 0


def cmd_flow(args: argparse.Namespace) -> int:
    from .flow import send

    host, _, port = args.to.rpartition(":")
    send(host.strip("[]"), int(port), args.rate, Path(args.stats) if args.stats else None)
    return 0


def cmd_echo(args: argparse.Namespace) -> int:
    from .flow import echo

    echo(args.port, args.bind)
    return 0


def cmd_proxy(args: argparse.Namespace) -> int:
    from .proxy import relay

    asyncio.run(relay(("127.0.0.1", args.listen_port or args.port), args.netns, ("127.0.0.1", args.port)))
    return 0


def cmd_compose(args: argparse.Namespace) -> int:
    from .compose import render

    text = render(_topo(args))
    Path(args.output).write_text(text)
    print(f"wrote {args.output}")
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    lab = sub.add_parser("lab", help="the multi-namespace demo lab")
    lab.add_argument("--lab", default=str(lab_topology.DEFAULT_LAB), help="lab topology (TOML)")
    lab.add_argument("--prefix", default=None, help="namespace prefix, overriding the topology's (a second lab)")
    verbs = lab.add_subparsers(dest="verb", required=True)
    up = verbs.add_parser("up", help="build the lab and start everything")
    up.add_argument("--foreground", action="store_true", help="stay in the foreground; Ctrl-C tears down")
    up.set_defaults(func=cmd_up)
    verbs.add_parser("down", help="stop the lab's processes, delete its namespaces").set_defaults(func=cmd_down)
    st = verbs.add_parser("status", help="what is running")
    st.add_argument("--json", action="store_true")
    st.set_defaults(func=cmd_status)
    f = verbs.add_parser("fault", help="inject or clear a WAN fault, or silence one path-check target")
    f.add_argument("kind", choices=FAULTS)
    f.set_defaults(func=cmd_fault)
    fl = verbs.add_parser("flow", help="(lab internal) the demo flow's sender")
    fl.add_argument("--to", required=True, help="HOST:PORT of the echo")
    fl.add_argument("--rate", type=int, default=50, help="packets per second")
    fl.add_argument("--stats", default=None, help="write counters to this JSON file every second")
    fl.set_defaults(func=cmd_flow)
    e = verbs.add_parser("echo", help="(lab internal) the demo flow's echo")
    e.add_argument("--port", type=int, default=9000)
    e.add_argument("--bind", default="0.0.0.0",
                   help="the address the flow targets: replies must come from it, or NAT on the path drops them")
    e.set_defaults(func=cmd_echo)
    p = verbs.add_parser("proxy", help="(lab internal) relay 127.0.0.1:PORT into a namespace")
    p.add_argument("--netns", required=True)
    p.add_argument("--port", type=int, default=lab_topology.API_PORT, help="the port inside the namespace")
    p.add_argument("--listen-port", type=int, default=None, help="the port here (default: the same)")
    p.set_defaults(func=cmd_proxy)
    c = verbs.add_parser("compose", help="write docker-compose.yml from the lab topology")
    c.add_argument("--output", default="docker-compose.yml")
    c.set_defaults(func=cmd_compose)
