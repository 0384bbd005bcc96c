"""The ``failover`` command line (the contract is in docs/design.md, "Command line")."""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import logging
import sys
import threading
import time
from pathlib import Path

from . import config

DEFAULT_LUNATIK_ROOT = Path("/lib/modules/lua")
# `failover conf NAME` prints these files shipped with the package (conf/ in the source tree).
SHIPPED_CONF = {
    "example": "failover.toml",
    "systemd": "systemd/failover.service",
    "systemd-agent": "systemd/failover-agent.service",
    "alerts": "prometheus/alerts.yml",
}


def _load_config(path: str) -> config.Config:
    try:
        return config.load(path)
    except config.ConfigError as e:
        print(f"failover: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_lunatik(args: argparse.Namespace) -> int:
    """Load scripts like the lunatik tool; with --for, stop after N seconds and report errors."""
    from .host import Kernel, Profile, ScriptError
    from .host.bridge import LuaError

    actions: list[tuple[str, str, str]] = []
    verb = None
    for word in args.words:
        if word in ("run", "spawn"):
            verb = word
        elif verb is None:
            print("failover lunatik: expected run or spawn before " + word, file=sys.stderr)
            return 2
        elif word in ("softirq", "hardirq") and actions and actions[-1][0] == "run":
            # as 'lunatik run SCRIPT softirq': the context of the script just named
            actions[-1] = (*actions[-1][:2], word)
        else:
            actions.append((verb, word, "process"))
    if not actions:
        print("failover lunatik: nothing to run", file=sys.stderr)
        return 2
    sources = {}
    if args.config:
        from .scripts.conflua import to_lua

        sources["failover.conf"] = to_lua(_load_config(args.config)).encode()
    kernel = Kernel(args.root, profile=Profile.choose(talk=args.talk, errors=args.errors), sources=sources)
    failed = False
    stop = threading.Event()
    try:
        for verb, script, context in actions:
            try:
                kernel.spawn(script) if verb == "spawn" else kernel.run(script, context)
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
    from .scripts import launch as launcher

    cfg = _load_config(args.config)
    return launcher.serve(cfg, args.root, config_path=args.config)


def cmd_conf(args: argparse.Namespace) -> int:
    if args.format in SHIPPED_CONF:
        from .package_data import conf_dir

        sys.stdout.write((conf_dir() / SHIPPED_CONF[args.format]).read_text())
        return 0
    from .scripts.conflua import to_lua

    cfg = _load_config(args.config)
    sys.stdout.write(to_lua(cfg))
    return 0


def cmd_kernel_install(args: argparse.Namespace) -> int:
    from .scripts import install as kernel_install

    cfg = _load_config(args.config)
    try:
        done = kernel_install.install(cfg, Path(args.root))
    except OSError as e:
        print(f"failover kernel install: {e}", file=sys.stderr)
        return 1
    for path in (*done.scripts, done.conf):
        print(f"installed {path}")
    print(f"send_redirects off (all, {cfg.failover.lan_interface}); {Path(cfg.control.socket).parent} ready")
    print("next: lunatik spawn failover/daemon && lunatik run failover/notifier")
    return 0


def cmd_agent(args: argparse.Namespace) -> int:
    from .agent import Agent, AgentConfig, parse_allow
    from .keys import read_key_file

    try:
        for address in args.listen:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"--listen: not an IP address: {address!r}") from None
        parse_allow(args.allow)
        key = read_key_file(args.key_file, "--key-file") if args.key_file else None
        stamp_key = read_key_file(args.stamp_key_file, "--stamp-key-file") if args.stamp_key_file else None
        if not 0 < args.replay_window_s <= 3600:
            raise ValueError(f"--replay-window-s: must be in (0, 3600], got {args.replay_window_s:g}")
        if not 0 <= args.lease <= 86400:
            raise ValueError(f"--lease: must be in [0, 86400] s, got {args.lease:g}")
    except ValueError as e:
        print(f"failover: agent: {e}", file=sys.stderr)
        return 2
    cfg = AgentConfig(args.listen[0], args.port, args.stamp_port, args.on_up, args.on_down, args.lab_delay_ms,
                      allow=tuple(args.allow), key=key, replay_window_s=args.replay_window_s,
                      stamp_key=stamp_key, stats_file=args.stats_file, lease_s=args.lease,
                      also_listen=tuple(args.listen[1:]))
    try:
        asyncio.run(Agent(cfg).serve())
    except KeyboardInterrupt:
        pass
    return 0


def _serve_sidecar(cfg: config.Config, args: argparse.Namespace, kernel=None) -> None:
    """The measuring core here, the HTTP API in a child process (with ``args``' lab options), until
    SIGINT/SIGTERM; SIGHUP reloads ``args.config`` into the core (and the scripts of ``kernel``:
    failover/sidecar/reload.py)."""
    from .sidecar.reload import Reloader
    from .sidecar.supervisor import ApiOptions, run

    def reloader(core):
        return Reloader(args.config, cfg, core, kernel)

    run(cfg, ApiOptions(lab_fault_command=args.lab_fault_command, lab_flow_file=args.lab_flow_file,
                        lab_flow6_file=args.lab_flow6_file), reloader)


def cmd_sidecar(args: argparse.Namespace) -> int:
    _serve_sidecar(_load_config(args.config), args)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Host and measuring core in one process (the scripts' threads, the core's loop in the main
    thread), the HTTP API in a child process."""
    from .scripts import launch as launcher

    cfg = _load_config(args.config)
    kernel = launcher.start(cfg, args.root)
    try:
        _serve_sidecar(cfg, args, kernel)
    finally:
        launcher.stop(kernel, cfg)
    return 1 if kernel.errors else 0


def cmd_replay(args: argparse.Namespace) -> int:
    """A decision journal through the same cores again: every decision, with time and reason."""
    import json

    from .core.events import log_entry
    from .core.journal import JournalError, read
    from .sidecar.replay import ReplayError, format_event, run

    other = None
    if args.config is not None:
        try:  # parse, not load: the key files of a router's config need not exist here
            other = config.parse(Path(args.config).read_text(), args.config)
        except OSError as e:
            print(f"failover replay: {args.config}: cannot read: {e.strerror}", file=sys.stderr)
            return 2
        except config.ConfigError as e:
            print(f"failover replay: {e}", file=sys.stderr)
            return 2
    try:
        with open(args.journal, encoding="utf-8", errors="strict") as f:
            header, records = read(f, args.journal)
            replay = run(header.config, records, other)
    except OSError as e:
        print(f"failover replay: {args.journal}: cannot read: {e.strerror}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print(f"failover replay: {args.journal}: not UTF-8 text ({e.reason})", file=sys.stderr)
        return 2
    except (JournalError, ReplayError) as e:
        print(f"failover replay: {e}", file=sys.stderr)
        return 2
    for event in replay.events:
        print(json.dumps(log_entry(event)) if args.json else format_event(event))
    for note in replay.notes:
        print(f"failover replay: {note}", file=sys.stderr)
    summary = replay.finish()
    end = summary.end
    tail = ("the journal has no end line (the recorder did not finish: a crash, or still recording)" if end is None
            else f"recording {end.reason}" + (f", {end.dropped} records left out" if end.dropped else ""))
    if records.cut_line is not None:
        tail += f"; line {records.cut_line} is cut short (written when the recorder stopped): not replayed"
    print(f"failover replay: {summary.records} records, {len(replay.events)} decisions"
          + (f", {summary.skipped} records of gateways not in the replay config" if summary.skipped else "")
          + f"; {tail}", file=sys.stderr)
    if summary.sequence_mismatches:
        print(f"failover replay: {summary.sequence_mismatches} probes' sequence numbers differ from the "
              "journal's: records are missing or out of order", file=sys.stderr)
        return 1
    return 0


def _status_table(state: dict, gateways: list[dict]) -> str:
    def yn(b: bool, yes: str = "up", no: str = "down") -> str:
        return yes if b else no

    def num(v, fmt: str) -> str:
        return "-" if v is None else format(v, fmt)

    wan, fo, el, daemon = state["wan"], state["failover"], state["elected"], state.get("daemon", {})
    since = ""
    if fo["active"] and fo.get("since"):
        since = f" since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(fo['since']))}"
    lines = [
        f"WAN {wan['interface']}: {yn(wan['up'])} (carrier {yn(wan['carrier'])}, path {yn(wan['path'])})",
        f"failover: {yn(fo['active'], 'on', 'off')}{since}, rule {yn(fo['rule'], 'present', 'absent')}, "
        f"rule changes {state['changes']}",
        f"elected: {el['name'] or '-'} {el['address'] or 'none'}{' (pinned)' if el['pinned'] else ''}",
    ]
    if daemon:
        lines.append(f"daemon: {daemon['message']}")
    rows = [("", "NAME", "ADDRESS", "STATUS", "RTT ms", "JITTER ms", "LOSS", "SCORE")]
    for g in gateways:
        rows.append(("*" if g["elected"] else "", g["name"], g["address"], g["status"],
                     num(g["rtt_ms"], ".2f"), num(g["jitter_ms"], ".2f"), f"{g['loss']:.1%}", num(g["score"], ".1f")))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines.append("")
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    return "\n".join(lines)


def cmd_status(args: argparse.Namespace) -> int:
    import json

    import httpx

    cfg = _load_config(args.config)
    base = f"http://{cfg.api.listen}"
    try:
        with httpx.Client(base_url=base, timeout=5.0) as client:
            state = client.get("/api/v1/state").raise_for_status().json()
            gateways = client.get("/api/v1/gateways").raise_for_status().json()
    except httpx.HTTPError as e:
        print(f"failover status: no sidecar answering at {base}: {e}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({"state": state, "gateways": gateways}, indent=2))
    else:
        print(_status_table(state, gateways))
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="failover", description="Adaptive-routing WAN failover for Linux routers")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    def with_config(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--config", default=str(config.DEFAULT_CONFIG), help="TOML configuration")

    def lab_options(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--lab-fault-command", default=None, metavar="CMD",
                        help="lab only: enables POST /api/v1/lab/fault, which runs 'CMD <kind>'")
        sp.add_argument("--lab-flow-file", default=None, metavar="FILE",
                        help="lab only: the demo flow's counters, shown by GET /api/v1/lab")
        sp.add_argument("--lab-flow6-file", default=None, metavar="FILE",
                        help="lab only: the IPv6 demo flow's counters (a dual-stack lab), shown by GET /api/v1/lab")

    from .package_data import kernel_root

    # The scripts shipped with the package, wherever it is installed (never the working directory).
    scripts = str(kernel_root())

    sp = sub.add_parser("lunatik", help="run Lunatik scripts in the user-space host")
    sp.add_argument("--root", default=scripts, help="script folder (like /lib/modules/lua; default: the package's)")
    sp.add_argument("--for", dest="seconds", type=float, default=None, help="stop after N seconds (0: right after loading)")
    sp.add_argument("--config", default=None, help="provide failover.conf from this TOML config")
    sp.add_argument("--talk", action="store_true", help="talk-era API (Lunatik 3.x, Netdev 0x17)")
    sp.add_argument("--errors", choices=["names", "pre-6.7"], default=None,
                    help="error strings as kernels >= 6.7 give them (names, the default) or older ones"
                         " ('(efault)' for every errno); default from FAILOVER_HOST_ERRORS")
    sp.add_argument("words", nargs="+", metavar="run|spawn SCRIPT",
                    help="run or spawn, then scripts; 'softirq' or 'hardirq' after a run script sets its context")
    sp.set_defaults(func=cmd_lunatik)

    sp = sub.add_parser("host", help="run kernel/failover in the user-space host")
    with_config(sp)
    sp.add_argument("--root", default=scripts, help=argparse.SUPPRESS)
    sp.set_defaults(func=cmd_host)

    sp = sub.add_parser("conf", help="print conf.lua for a Lunatik install, or a shipped file: the annotated "
                        "example config, the systemd units, the Prometheus alert rules")
    sp.add_argument("format", choices=["lua", *SHIPPED_CONF])
    with_config(sp)
    sp.set_defaults(func=cmd_conf)

    sp = sub.add_parser("kernel", help="install the failover scripts for a real Lunatik")
    ksub = sp.add_subparsers(dest="kernel_command", required=True)
    kp = ksub.add_parser("install", help="write ROOT/failover/*.lua and conf.lua; redirects off, socket folder")
    kp.add_argument("--root", default=str(DEFAULT_LUNATIK_ROOT), help="Lunatik's script folder (default %(default)s)")
    with_config(kp)
    kp.set_defaults(func=cmd_kernel_install)

    sp = sub.add_parser("agent", help="alternate-gateway agent (STAMP reflector, up/down listener)")
    sp.add_argument("--listen", required=True, action="append", metavar="ADDR",
                    help="address to listen on (TCP up/down and STAMP); twice: an IPv4 and an IPv6 address")
    sp.add_argument("--port", type=int, default=7070)
    sp.add_argument("--stamp-port", type=int, default=862)
    sp.add_argument("--on-up", default=None, help="command to run on 'up' (default: forwarding on)")
    sp.add_argument("--on-down", default=None, help="command to run on 'down' (default: forwarding off)")
    sp.add_argument("--lab-delay-ms", type=float, default=0.0, metavar="MS",
                    help="lab only: hold each STAMP reply MS ms, to emulate a distant gateway")
    sp.add_argument("--allow", action="append", default=[], metavar="ADDR",
                    help="router address or prefix allowed to send up/down (repeatable; default: any)")
    sp.add_argument("--key-file", default=None, metavar="F",
                    help="shared key (the router's control.key_file): accept only signed up/down lines")
    sp.add_argument("--replay-window-s", type=float, default=30.0, metavar="S",
                    help="signed lines: accepted timestamp skew and nonce memory (default 30)")
    sp.add_argument("--stamp-key-file", default=None, metavar="F",
                    help="STAMP authenticated mode (RFC 8762 HMAC) with this key")
    sp.add_argument("--stats-file", default=None, metavar="F",
                    help="write the agent's counters (STAMP reflected/malformed, control) here as JSON")
    sp.add_argument("--lease", type=float, default=0.0, metavar="S",
                    help="an 'up' lapses (forwarding off, or --on-down) S seconds after the last one, "
                         "unless renewed; the router re-tells every control.refresh_ms (10 s); 0: never")
    sp.set_defaults(func=cmd_agent)

    sp = sub.add_parser("sidecar", help="FastAPI sidecar: heartbeats, election, REST, dashboard")
    with_config(sp)
    lab_options(sp)
    sp.set_defaults(func=cmd_sidecar)

    sp = sub.add_parser("run", help="host and sidecar together (an appliance)")
    with_config(sp)
    sp.add_argument("--root", default=scripts, help=argparse.SUPPRESS)
    lab_options(sp)
    sp.set_defaults(func=cmd_run)

    sp = sub.add_parser("replay", help="feed a decision journal ([journal]) through the same cores again and "
                        "print every decision; --config: what another config would have decided")
    sp.add_argument("journal", metavar="JOURNAL", help="the journal file ([journal] path)")
    sp.add_argument("--config", default=None, help="replay with this config instead of the recording one")
    sp.add_argument("--json", action="store_true", help="one JSON object per decision (as GET /api/v1/log)")
    sp.set_defaults(func=cmd_replay)

    sp = sub.add_parser("status", help="the sidecar's view: a table, or --json")
    with_config(sp)
    sp.add_argument("--json", action="store_true", help="machine-readable output")
    sp.set_defaults(func=cmd_status)

    from .lab.cli import add_parser as add_lab_parser

    add_lab_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    if not args.verbose:
        # httpx logs every request at INFO: noise in `failover status`, whose output is the answer.
        logging.getLogger("httpx").setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
