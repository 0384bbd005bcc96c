"""Any RFC 8762 reflector works as a candidate: one written here, independently of the agent.

It is a *stateful* reflector (its own sequence counter, RFC 8762 §4.3.2), so the sidecar must
match replies by the echoed sender sequence, and it checks that our test packets have the
RFC's layout (at least 44 octets, MBZ octets zero) and reports any that do not.

A gateway carries traffic only once it has acknowledged `up` (one the daemon cannot tell is left
for the next: README, "Gateway control"), so gw3 also answers the control protocol with a minimal
listener written here (one line in, `ok` out), not the agent.

Expected routing state: carrier lost, gw3 (10.10.0.13, only this reflector and listener, no agent)
pinned -> rule 1000 -> table 100, default via 10.10.0.13; gw3 told `up`.
"""

import sys


from failover.lab.netns import wait_for


REFLECTOR = r'''
import socket, struct, sys, threading, time
def control():
    srv = socket.create_server((sys.argv[1], 7070))
    while True:
        conn, _ = srv.accept()
        with conn:
            line = conn.makefile().readline().strip()
            print("told", line, flush=True)
            conn.sendall(b"ok\n")
threading.Thread(target=control, daemon=True).start()
OFFSET = 2208988800
def ntp():
    ns = time.time_ns()
    s, f = divmod(ns, 10**9)
    return ((s + OFFSET) << 32) | (f << 32) // 10**9
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_IP, 12, 1)  # IP_RECVTTL
sock.bind((sys.argv[1], 862))
print("ready", flush=True)
own_seq = 1000
while True:
    data, anc, _, peer = sock.recvmsg(2048, 64)
    t2 = ntp()
    ttl = next((int.from_bytes(d[:4], "little") for l, t, d in anc if t == socket.IP_TTL), 255)
    if len(data) < 44 or any(data[14:44]):
        print("bad sender packet", len(data), data.hex(), flush=True)
        continue
    seq, ts, err = struct.unpack_from("!IQH", data)
    reply = struct.pack("!IQH2xQIQH2xB3x", own_seq, ntp(), 0x8001, t2, seq, ts, err, ttl & 0xFF)
    own_seq += 1
    sock.sendto(reply + bytes(len(data) - 44), peer)
'''


def test_independent_stateful_reflector_is_a_working_candidate(hb):
    topo = hb.topo
    gw3 = topo.add_gateway(3, agent=False)
    hb.nets.spawn("gw3", [sys.executable, "-c", REFLECTOR, gw3], log=topo.tmp / "gw3-reflector.log")
    wait_for(lambda: "ready" in topo.log("gw3-reflector"), what="the independent reflector")
    hb.write_config(gateways=["10.10.0.11", gw3], probe=False)
    topo.start_host(hb.config_path)
    hb.start_sidecar()
    wait_for(lambda: hb.gateways()[gw3]["status"] == "up", timeout=5, what="gw3 up on its replies")
    g = hb.gateways()[gw3]
    assert 0 < g["rtt_ms"] < 20 and g["loss"] == 0 and g["score"] is not None
    topo.set_isp(False)
    r = hb.http.request("POST", "/api/v1/elect", json={"address": gw3}, headers=hb.auth())
    assert r.status_code == 200, r.text
    wait_for(lambda: topo.default_via() == gw3, what="table 100 default via gw3")
    wait_for(lambda: "told up" in topo.log("gw3-reflector"), what="gw3 told up")
    assert len(topo.rules()) == 1
    assert hb.gateways()[gw3]["reachable"] is True and topo.default_via() == gw3
    assert "bad sender packet" not in topo.log("gw3-reflector")
