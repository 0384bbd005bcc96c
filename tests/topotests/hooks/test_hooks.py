"""Hooks on a failover: an exec hook and a signed webhook (to a receiver on the LAN), a hook that
hangs (killed at its timeout, the next failover on time), and a slow hook whose overflowing
events are dropped and counted in /metrics.

`failover run` on the router; the webhook receiver listens in gw2's namespace (10.10.0.12:9090),
reached over the LAN while the WAN is down. Every hook program logs its pid first, so the test
can see it killed.

Expected routing state (router namespace):

    WAN up:            no rule at priority 1000
    WAN carrier lost:  one rule "1000: from all lookup 100", the elected gateway told "up"
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sys
import textwrap
import time
from pathlib import Path


from failover.lab.netns import wait_for


SECRET = b"hook-secret-of-32-bytes-or-more!!"
RECEIVER = '''
import http.server, json, sys
out = open(sys.argv[2], "a")
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        out.write(json.dumps({"signature": self.headers.get("X-Failover-Signature"), "body": body.decode()}) + "\\n")
        out.flush()
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer((sys.argv[1], 9090), H)
print("ready", flush=True)
s.serve_forever()
'''


def write_program(path: Path, body: str) -> Path:
    path.write_text(f"#!{sys.executable}\n" + textwrap.dedent(body))
    path.chmod(0o755)
    return path


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"


def metric(hb, name: str) -> float:
    for line in hb.http.get("/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


def test_failover_runs_exec_and_webhook_hooks_and_a_hanging_hook_is_killed(hb):
    topo, tmp = hb.topo, hb.topo.tmp
    receiver_log = tmp / "webhook.jsonl"
    hb.nets.spawn("gw2", [sys.executable, "-c", RECEIVER, topo.gateways[1], str(receiver_log)],
                  log=tmp / "receiver.log")
    wait_for(lambda: "ready" in topo.log("receiver"), what="the webhook receiver")
    (tmp / "secret").write_bytes(SECRET)
    runs = tmp / "exec.jsonl"
    recorder = write_program(tmp / "record.py", f"""
        import json, os, sys
        event = json.load(sys.stdin)
        env = {{k: v for k, v in os.environ.items() if k.startswith("FAILOVER_")}}
        with open({str(runs)!r}, "a") as f:
            f.write(json.dumps({{"env": env, "stdin": event}}) + "\\n")
        """)
    hangs = tmp / "hang.jsonl"
    hanger = write_program(tmp / "hang.py", f"""
        import json, os, sys, time
        # Never two at once: the previous run of this hook must be gone (killed and reaped).
        try:
            previous = json.loads(open({str(hangs)!r}).read().splitlines()[-1])["pid"]
        except (OSError, IndexError):
            previous = None
        overlap = previous is not None and os.path.exists(f"/proc/{{previous}}")
        with open({str(hangs)!r}, "a") as f:
            f.write(json.dumps({{"pid": os.getpid(), "event": os.environ["FAILOVER_EVENT"], "t": time.monotonic(),
                                "overlap": overlap}}) + "\\n")
        time.sleep(60)
        """)
    config = hb.write_config(hook=[
        {"on": ["failover", "failback"], "exec": str(recorder), "url": f"http://{topo.gateways[1]}:9090/hook",
         "secret_file": str(tmp / "secret")},
        {"on": ["failover", "failback"], "exec": str(hanger), "timeout_ms": 1000, "queue": 1},
        {"on": ["gateway", "wan", "target", "failover", "failback", "elected"], "exec": "/bin/sleep 30",
         "timeout_ms": 5000, "queue": 1},
    ])
    hb.sidecar = topo.start_host(config, command="run")
    wait_for(hb._api_ready, timeout=15, what="the sidecar's REST API")
    wait_for(hb.all_up, timeout=10, what="both gateways' heartbeats up")

    topo.set_isp(False)
    wait_for(topo.has_failover_rule, what="the failover rule")
    elected = topo.state()["elected"]
    wait_for(lambda: len(lines(runs)) == 1, what="the exec hook run on failover")
    run = lines(runs)[0]
    env, event = run["env"], run["stdin"]
    assert env["FAILOVER_EVENT"] == "failover" and env["FAILOVER_WAN"] == "wan0"
    assert env["FAILOVER_ADDRESS"] == elected and env["FAILOVER_GATEWAY"] == f"gw{topo.gateways.index(elected) + 1}"
    assert env["FAILOVER_CARRIER"] == "0" and env["FAILOVER_RULE"] == "1"
    assert event["event"] == "failover" and event["address"] == elected and event["wan"] == "wan0"
    wait_for(lambda: len(lines(receiver_log)) == 1, what="the webhook POST")
    post = lines(receiver_log)[0]
    assert json.loads(post["body"]) == event
    assert post["signature"] == "sha256=" + hmac.new(SECRET, post["body"].encode(), hashlib.sha256).hexdigest()

    # The hanging hook started on the failover and is killed at its 1 s timeout (room for a
    # Python interpreter to start on a loaded machine), not after its 60 s sleep.
    wait_for(lambda: len(lines(hangs)) == 1, what="the hanging hook started")
    hang = lines(hangs)[0]
    wait_for(lambda: not alive(hang["pid"]), timeout=3, what="the hanging hook killed")
    assert time.monotonic() - hang["t"] < 3.0

    # Failback, then a second failover: on time although the hanging hook hangs again, and
    # the hooks see every event in order.
    topo.set_isp(True)
    wait_for(lambda: topo.rules() == [], timeout=10, what="the rule removed (failback)")
    wait_for(lambda: len(lines(hangs)) == 2, what="the hanging hook started on failback")
    topo.set_isp(False)
    t0 = time.monotonic()
    wait_for(topo.has_failover_rule, timeout=2, what="the second failover's rule")
    assert time.monotonic() - t0 < 1.0
    wait_for(lambda: len(lines(runs)) == 3, what="the exec hook on failback and the second failover")
    assert [r["env"]["FAILOVER_EVENT"] for r in lines(runs)] == ["failover", "failback", "failover"]
    wait_for(lambda: len(lines(receiver_log)) == 3, what="three webhook POSTs")
    assert [json.loads(p["body"])["event"] for p in lines(receiver_log)] == ["failover", "failback", "failover"]
    # Never two at once: each hanging run started after the previous one was gone.
    wait_for(lambda: len(lines(hangs)) == 3, what="the hanging hook on the second failover")
    assert [(h["event"], h["overlap"]) for h in lines(hangs)] == [
        ("failover", False), ("failback", False), ("failover", False)]
    # /metrics counts come with the core's next snapshot (every 100 ms): waited for, not sampled.
    wait_for(lambda: metric(hb, "failover_hook_failures_total") >= 3, what="three hanging runs killed")
    wait_for(lambda: metric(hb, "failover_hook_runs_total") >= 6, what="six hook runs counted")
    # The slow hook with room for one waiting event cannot keep up: what overflows is dropped, counted.
    wait_for(lambda: metric(hb, "failover_hook_drops_total") >= 1, what="a dropped event counted")
    assert "queue full (1)" in topo.log("host")
