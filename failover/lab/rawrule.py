"""Add a rule WITHOUT NLM_F_EXCL, the way old tools and crashed writers leave duplicates.

iproute2 and pyroute2 both refuse duplicates now (EEXIST), but the kernel still accepts them
from a request without the flag. Run inside a namespace: ``python -m failover.lab.rawrule TABLE PRIO [6]``
(6: an IPv6 rule).
"""

import socket
import struct
import sys

RTM_NEWRULE, NLM_F_REQUEST, NLM_F_ACK, NLM_F_CREATE = 32, 1, 4, 0x400
FRA_PRIORITY, FRA_TABLE, FR_ACT_TO_TBL = 6, 15, 1


def add_rule(table: int, priority: int, family: int = socket.AF_INET) -> None:
    attrs = struct.pack("=HHI", 8, FRA_PRIORITY, priority) + struct.pack("=HHI", 8, FRA_TABLE, table)
    body = struct.pack("=BBBBBBBBI", family, 0, 0, 0, table if table < 256 else 0, 0, 0, FR_ACT_TO_TBL, 0)
    payload = body + attrs
    header = struct.pack("=IHHII", 16 + len(payload), RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE, 1, 0)
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, socket.NETLINK_ROUTE) as s:
        s.send(header + payload)
        ack = s.recv(4096)
    error = struct.unpack_from("=i", ack, 16)[0]
    if error:
        raise OSError(-error, "rule add failed")


if __name__ == "__main__":
    add_rule(int(sys.argv[1]), int(sys.argv[2]), socket.AF_INET6 if sys.argv[3:] == ["6"] else socket.AF_INET)
