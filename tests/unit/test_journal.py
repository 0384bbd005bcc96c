"""The decision journal: its line format, the recorder's bound, and replay driven by records.

The namespace scenario (tests/topotests/replay/test_replay.py) replays a live run; here the cores are
fed hand-made records, so each rule of the format and of the replay is checked on its own.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from failover import config
from failover.core.journal import (
    Elect, End, Header, JournalError, Link, Reply, Send, Tick, encode, encode_header, read,
)
from failover.sidecar.recorder import Recorder
from failover.sidecar.replay import ReplayError, recorded_config, run

GW1, GW2 = "10.10.0.11", "10.10.0.12"
MS = 1_000_000
T0 = 1_800_000_000 * 1_000_000_000

CONFIG = f"""
[wan]
interface = "wan0"
[failover]
lan_interface = "lan0"
[[gateway]]
name = "gw1"
address = "{GW1}"
[[gateway]]
name = "gw2"
address = "{GW2}"
"""


def cfg(extra: str = "") -> config.Config:
    return config.parse(extra + CONFIG)


def journal_text(records, c: config.Config | None = None) -> list[str]:
    c = c or cfg()
    return [encode_header(Header(T0, c.model_dump(mode="json"))), *(encode(r) for r in records)]


# -- the format ------------------------------------------------------------------------------


def test_records_round_trip():
    records = [Tick(T0, "gw"), Send(T0 + 1, "gw", GW1, 0), Reply(T0 + 2, "gw", GW1, 0, T0 + 1, T0, T0),
               Link(T0 + 3, True, False), Elect(T0 + 4, 123), End(T0 + 5, 0, "stopped")]
    header, back = read(journal_text(records))
    assert header.started_ns == T0 and config.Config.model_validate(header.config) == cfg()
    assert list(back) == records


@pytest.mark.parametrize("line, error", [
    ("{not json", "not JSON"),
    ('{"k":"tick","t":1}', "missing field 'p'"),
    ('{"k":"tick","t":"1","p":"gw"}', "field 't' must be int"),
    ('{"k":"link","t":1,"admin":1,"carrier":true}', "field 'admin' must be bool"),
    ('{"k":"send","t":true,"p":"gw","a":"x","s":0}', "field 't' must be int"),
    ('{"k":"nope","t":1}', "unknown record kind"),
    ('{"k":"tick","t":1,"p":"gw","x":2}', "unknown field(s) x"),
    ("[1, 2]", "expected a JSON object"),
])
def test_a_bad_line_is_named_by_its_number(line, error):
    lines = journal_text([Tick(T0, "gw")]) + [line + "\n"]
    _, records = read(lines, "j.jsonl")
    with pytest.raises(JournalError) as e:
        list(records)
    assert str(e.value).startswith("j.jsonl:3: ") and error in str(e.value)


def test_a_last_line_cut_short_ends_the_records_and_is_named():
    lines = journal_text([Tick(T0, "gw"), Tick(T0 + 1, "gw")])
    cut = lines[:-1] + [lines[-1][:12]]           # the recorder died writing it: no newline
    _, records = read(cut, "j")
    assert list(records) == [Tick(T0, "gw")] and records.cut_line == 3
    _, records = read(lines[:-1] + [lines[-1][:12] + "\n"], "j")   # a whole line that is bad
    with pytest.raises(JournalError, match="j:3: not JSON"):
        list(records)
    _, records = read(lines[:2] + [lines[2][:12]] + lines[2:], "j")  # cut short, then more: not an end
    with pytest.raises(JournalError, match="j:3: not JSON"):
        list(records)


def test_the_header_is_checked():
    with pytest.raises(JournalError, match="j:1: not a failover decision journal"):
        read(['{"k":"tick","t":1,"p":"gw"}\n'], "j")
    with pytest.raises(JournalError, match="j:1: journal version 2"):
        read(['{"journal":"failover","version":2,"started_ns":1,"config":{}}\n'], "j")
    with pytest.raises(JournalError, match="j: empty"):
        read([], "j")


# -- the recorder's bound --------------------------------------------------------------------


def test_a_full_journal_stops_counts_and_still_replays(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text("the previous run\n")
    c = cfg(f'[journal]\npath = "{path}"\nmax_bytes = 8192\n')
    rec = Recorder(c)
    tap = rec.tap("gw")
    for i in range(400):
        tap.send(GW1, i, T0 + i * 20 * MS)
    rec.close()
    assert (tmp_path / "j.jsonl.1").read_text() == "the previous run\n"
    assert path.stat().st_size <= 8192
    header, records = read(path.read_text().splitlines())
    records = list(records)
    end = records[-1]
    assert isinstance(end, End) and end.reason == "full" and end.dropped == 400 - (len(records) - 1)
    assert end.dropped > 0
    assert path.stat().st_mode & 0o777 == 0o600


# -- replay ----------------------------------------------------------------------------------


def heartbeats(until_ms: int, silent: set[str] = frozenset(), silent_from_ms: int = 0, every_ms: int = 20):
    """Both gateways probed every 20 ms, answering after 1 ms (those in ``silent`` stop at
    ``silent_from_ms``); a tick before each round and an election every 50 ms."""
    out, seq = [], 0
    for ms in range(0, until_ms, every_ms):
        t = T0 + ms * MS
        out.append(Tick(t, "gw"))
        if ms % 60 == 0:
            out.append(Elect(t + 1, t + 1))
        for a in (GW1, GW2):
            out.append(Send(t + 2, "gw", a, seq))
        for a in (GW1, GW2):
            if not (a in silent and ms >= silent_from_ms):
                out.append(Reply(t + MS, "gw", a, seq, t + 2, t + 500, t + 600))
        seq += 1
    return out


def messages(replay):
    return [(e.kind, e.message) for e in replay.events]


def test_a_silent_gateway_is_called_down_and_the_election_moves():
    records = [Link(T0, True, True), *heartbeats(1000, {GW1}, 500)]
    replay = run(cfg().model_dump(mode="json"), records)
    # The last reply came at 481 ms; the verdict is taken at the ticks (every 20 ms): 560 ms.
    down = [m for k, m in messages(replay) if k == "gateway" and "up -> down" in m]
    assert down == ["gw1 10.10.0.11 up -> down: blackout: no reply for 79.0 ms since the last reply "
                    "(detect time 3 x 20 ms)"]
    assert [m.split(":")[0] for k, m in messages(replay) if k == "election"] == ["elected gw1 10.10.0.11",
                                                                                "elected gw2 10.10.0.12"]


def test_what_if_detect_multiplier_were_5():
    records = [Link(T0, True, True), *heartbeats(1000, {GW1}, 500)]
    recorded = cfg().model_dump(mode="json")
    what_if = run(recorded, records, cfg("[heartbeat]\ndetect_multiplier = 5\n"))
    down = [(e.ts, e.message) for e in what_if.events if e.kind == "gateway" and "up -> down" in e.message]
    assert down == [((T0 + 600 * MS) / 1e9, "gw1 10.10.0.11 up -> down: blackout: no reply for 119.0 ms since "
                     "the last reply (detect time 5 x 20 ms)")]


def test_failover_on_carrier_loss_and_back_after_the_clean_time():
    records = [Link(T0, True, True), Link(T0 + 100 * MS, True, False), Link(T0 + 300 * MS, True, True),
               End(T0 + 5000 * MS, 0, "stopped")]
    replay = run(cfg().model_dump(mode="json"), records)
    failovers = [(e.active, round(e.ts - T0 / 1e9, 3)) for e in replay.events if e.kind == "failover"]
    assert failovers == [(True, 0.1), (False, 1.3)]  # dampening.min_clean_ms = 1000
    longer = run(cfg().model_dump(mode="json"), records, cfg("[dampening]\nmin_clean_ms = 2500\n"))
    assert [(e.active, round(e.ts - T0 / 1e9, 3)) for e in longer.events if e.kind == "failover"] == \
        [(True, 0.1), (False, 2.8)]


def test_a_replay_config_cannot_change_what_was_recorded():
    with pytest.raises(ReplayError, match=r"heartbeat.interval_ms \(recorded 20, here 10\)"):
        run(cfg().model_dump(mode="json"), [], cfg("[heartbeat]\ninterval_ms = 10\n"))


def test_the_command_names_the_bad_line(tmp_path):
    path = tmp_path / "j.jsonl"
    path.write_text("".join(journal_text([Link(T0, True, True)])) + '{"k":"link","t":5}\n')
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "replay", str(path)],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"failover replay: {path}:3: missing field 'admin'"
    good = tmp_path / "good.jsonl"
    good.write_text("".join(journal_text([Link(T0, True, True), Link(T0 + MS, True, False)])))
    proc = subprocess.run([sys.executable, "-m", "failover.cli", "replay", str(good), "--json"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    kinds = [json.loads(line)["kind"] for line in proc.stdout.splitlines()]
    assert kinds == ["wan", "wan", "failover"]
    assert "no end line" in proc.stderr


def test_a_journal_from_before_the_election_floor_replays_without_it():
    recorded = cfg().model_dump(mode="json")
    assert recorded_config(recorded).election.switch_min_ms == 1.0
    del recorded["election"]["switch_min_ms"]  # as a journal written before the field existed
    assert recorded_config(recorded).election.switch_min_ms == 0.0
