"""The ``failover`` command line (the contract is in shared/DESIGN.md, "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import threading
import time

from . import config


def _load_config(path: str) -> config.Config:
    try:
        return config.load(path)
    except config.ConfigError as e:
        print(f"failover: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_lunatik(args: argparse.Namespace) -> int:
    """Load scripts like the lunatik tool; with --for, stop after N seconds and report errors."""
    from .host import Kernel, ScriptError
    from .host.bridge import LuaError

    actions: list[tuple[str, str]] = []
    verb = None
    for word in args.words:
        if word in ("run", "spawn"):
            verb = word
        elif verb is None:
            print("failover lunatik: expected run or spawn before " + word, file=sys.stderr)
            return 2
        else:
            actions.append((verb, word))
    if not actions:
        print("failover lunatik: nothing to run", file=sys.stderr)
        return 2
    sources = {}
    if args.config:
        sources["failover.conf"] = config.to_lua(_load_config(args.config)).encode()
    kernel = Kernel(args.root, talk=args.talk, sources=sources)
    failed = False
    stop = threading.Event()
    try:
        for verb, script in actions:
            try:
                kernel.spawn(script) if verb == "spawn" else kernel.run(script)
            except (ScriptError, LuaError) as e:
                print(f"failover lunatik: {script}: {e}", file=sys.stderr)
                failed = True
                break
        if not failed:
            if args.seconds is None:
                import signal

                for sig in (signal.SIGINT, signal.SIGTERM):
                    signal.signal(sig, lambda *_: stop.set())
                stop.wait()
            elif args.seconds > 0:
                time.sleep(args.seconds)
    finally:
        kernel.shutdown()
    return 1 if failed or kernel.errors else 0


def cmd_host(args: argparse.Namespace) -> int:
    from .host import launcher

    cfg = _load_config(args.config)
    return launcher.serve(cfg, args.root)


def cmd_conf(args: argparse.Namespace) -> int:
    cfg = _load_config(args.config)
    sys.stdout.write(config.to_lua(cfg))
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from .agent import Agent, AgentConfig

    cfg = AgentConfig(args.listen, args.port, args.stamp_port, args.on_up, args.on_down)
    try:
        asyncio.run(Agent(cfg).serve())
    except KeyboardInterrupt:
        pass
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="failover", description="Adaptive-routing WAN failover for Linux routers")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", default=str(config.DEFAULT_CONFIG), help="TOML configuration")

    sp = sub.add_parser("lunatik", help="run Lunatik scripts in the user-space host")
    sp.add_argument("--root", default="kernel", help="script folder (like /lib/modules/lua)")
    sp.add_argument("--for", dest="seconds", type=float, default=None, help="stop after N seconds (0: right after loading)")
    sp.add_argument("--config", default=None, help="provide failover.conf from this TOML config")
    sp.add_argument("--talk", action="store_true", help="talk-era API (Lunatik 3.x, Netdev 0x17)")
    sp.add_argument("words", nargs="+", metavar="run|spawn SCRIPT", help="run or spawn, then scripts")
    sp.set_defaults(func=cmd_lunatik)

    sp = sub.add_parser("host", help="run kernel/failover in the user-space host")
    with_config(sp)
    sp.add_argument("--root", default="kernel", help=argparse.SUPPRESS)
    sp.set_defaults(func=cmd_host)

    sp = sub.add_parser("conf", help="print the configuration for a Lunatik install")
    sp.add_argument("format", choices=["lua"])
    with_config(sp)
    sp.set_defaults(func=cmd_conf)

    sp = sub.add_parser("agent", help="alternate-gateway agent (STAMP reflector, up/down listener)")
    sp.add_argument("--listen", required=True, help="address to listen on")
    sp.add_argument("--port", type=int, default=7070)
    sp.add_argument("--stamp-port", type=int, default=862)
    sp.add_argument("--on-up", default=None, help="command to run on 'up' (default: forwarding on)")
    sp.add_argument("--on-down", default=None, help="command to run on 'down' (default: forwarding off)")
    sp.set_defaults(func=cmd_agent)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
