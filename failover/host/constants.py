"""The ``linux.*`` constant modules, with the values Lunatik generates from kernel headers.

Lunatik strips the C prefix (``NETDEV_UP`` becomes ``require("linux.netdev").UP``); the values
below are the stable ones (kernels >= 5.15, x86); docs/lunatik.md lists the modules.
"""

from __future__ import annotations

import errno
import socket
import stat as _stat

NETDEV = {
    "UP": 1, "DOWN": 2, "REBOOT": 3, "CHANGE": 4, "REGISTER": 5, "UNREGISTER": 6,
    "CHANGEMTU": 7, "CHANGEADDR": 8, "PRE_CHANGEADDR": 9, "GOING_DOWN": 10, "CHANGENAME": 11,
    "FEAT_CHANGE": 12, "BONDING_FAILOVER": 13, "PRE_UP": 14, "PRE_TYPE_CHANGE": 15,
    "POST_TYPE_CHANGE": 16, "POST_INIT": 17,
}

NOTIFY = {"DONE": 0x0000, "OK": 0x0001, "STOP_MASK": 0x8000, "STOP": 0x8001, "BAD": 0x8002}

TASK = {"RUNNING": 0x0000, "INTERRUPTIBLE": 0x0001, "UNINTERRUPTIBLE": 0x0002, "KILLABLE": 0x0102, "IDLE": 0x0402}

STAT = {name[2:]: getattr(_stat, name) for name in dir(_stat) if name.startswith("S_I") and name[3:].isupper()}
STAT.update({"IRUGO": 0o444, "IWUGO": 0o222, "IXUGO": 0o111, "IRWXUGO": 0o777, "IALLUGO": 0o7777})

def layout(size: int, *fields: tuple[str, int, int, bool]) -> dict:
    """A struct layout descriptor: ``{size, fields = {{name, offset, size, signed}, ...}}``."""
    return {
        "size": size,
        "fields": [{"name": n, "offset": o, "size": s, "signed": sg} for n, o, s, sg in fields],
    }


SOCKET = {
    "af": {"UNSPEC": 0, "UNIX": 1, "INET": 2, "INET6": 10, "NETLINK": 16, "PACKET": 17},
    "sock": {"STREAM": 1, "DGRAM": 2, "RAW": 3, "SEQPACKET": 5, "NONBLOCK": socket.SOCK_NONBLOCK, "CLOEXEC": socket.SOCK_CLOEXEC},
    "ipproto": {"IP": 0, "ICMP": 1, "TCP": 6, "UDP": 17, "RAW": 255},
    "msg": {"OOB": 0x1, "PEEK": 0x2, "DONTROUTE": 0x4, "TRUNC": 0x20, "DONTWAIT": 0x40, "EOR": 0x80, "WAITALL": 0x100, "NOSIGNAL": 0x4000},
    "sol": {"SOCKET": 1, "IP": 0, "TCP": 6, "UDP": 17},
    "so": {
        "DEBUG": 1, "REUSEADDR": 2, "TYPE": 3, "ERROR": 4, "DONTROUTE": 5, "BROADCAST": 6, "SNDBUF": 7,
        "RCVBUF": 8, "KEEPALIVE": 9, "REUSEPORT": 15, "BINDTODEVICE": 25, "TIMESTAMP": 29,
        "RCVTIMEO_OLD": 20, "SNDTIMEO_OLD": 21, "RCVTIMEO_NEW": 66, "SNDTIMEO_NEW": 67,
    },
    # Layout descriptors for require("struct"), as Lunatik's autogen emits them.
    "layout": {"timeval": layout(16, ("tv_sec", 0, 8, True), ("tv_usec", 8, 8, True))},
}

# uapi/linux/netlink.h, as Lunatik's autogen groups it into linux.netlink.
NETLINK = {
    "ALIGNTO": 4,
    "proto": {"ROUTE": 0, "GENERIC": 16},
    "flag": {
        "REQUEST": 0x1, "MULTI": 0x2, "ACK": 0x4, "ECHO": 0x8, "DUMP_INTR": 0x10, "DUMP_FILTERED": 0x20,
        "ROOT": 0x100, "MATCH": 0x200, "ATOMIC": 0x400, "DUMP": 0x300,
        "REPLACE": 0x100, "EXCL": 0x200, "CREATE": 0x400, "APPEND": 0x800,
        "NONREC": 0x100, "BULK": 0x200, "CAPPED": 0x100, "ACK_TLVS": 0x200,
    },
    "type": {"NOOP": 1, "ERROR": 2, "DONE": 3, "OVERRUN": 4},
    "layout": {
        "nlmsghdr": layout(16, ("nlmsg_len", 0, 4, False), ("nlmsg_type", 4, 2, False),
                           ("nlmsg_flags", 6, 2, False), ("nlmsg_seq", 8, 4, False), ("nlmsg_pid", 12, 4, False)),
        "nlattr": layout(4, ("nla_len", 0, 2, False), ("nla_type", 2, 2, False)),
        # struct nlmsgerr: int error, then the request's nlmsghdr (not a scalar: padding here)
        "nlmsgerr": layout(20, ("error", 0, 4, True)),
    },
}

RTNETLINK = {
    "table": {"UNSPEC": 0, "COMPAT": 252, "DEFAULT": 253, "MAIN": 254, "LOCAL": 255},
    "scope": {"UNIVERSE": 0, "SITE": 200, "LINK": 253, "HOST": 254, "NOWHERE": 255},
    "rtprot": {"UNSPEC": 0, "REDIRECT": 1, "KERNEL": 2, "BOOT": 3, "STATIC": 4},
    "rtn": {"UNSPEC": 0, "UNICAST": 1, "LOCAL": 2, "BROADCAST": 3, "ANYCAST": 4, "MULTICAST": 5,
            "BLACKHOLE": 6, "UNREACHABLE": 7, "PROHIBIT": 8, "THROW": 9, "NAT": 10},
    "fr_act": {"UNSPEC": 0, "TO_TBL": 1, "GOTO": 2, "NOP": 3, "BLACKHOLE": 6, "UNREACHABLE": 7, "PROHIBIT": 8},
    "iff": {"UP": 0x1, "BROADCAST": 0x2, "DEBUG": 0x4, "LOOPBACK": 0x8, "POINTOPOINT": 0x10,
            "NOTRAILERS": 0x20, "RUNNING": 0x40, "NOARP": 0x80, "PROMISC": 0x100, "MULTICAST": 0x1000},
}

IFF_UP = 0x1
IFF_RUNNING = 0x40

# uapi/linux/genetlink.h, as Lunatik's autogen groups it into linux.genl.
GENL = {
    "id": {"CTRL": 0x10, "VFS_DQUOT": 0x11, "PMCRAID": 0x12},
    "cmd": {"UNSPEC": 0, "NEWFAMILY": 1, "DELFAMILY": 2, "GETFAMILY": 3, "NEWOPS": 4, "DELOPS": 5,
            "GETOPS": 6, "NEWMCAST_GRP": 7, "DELMCAST_GRP": 8, "GETMCAST_GRP": 9, "GETPOLICY": 10},
    "attr": {"UNSPEC": 0, "FAMILY_ID": 1, "FAMILY_NAME": 2, "VERSION": 3, "HDRSIZE": 4, "MAXATTR": 5,
             "OPS": 6, "MCAST_GROUPS": 7, "POLICY": 8, "OP_POLICY": 9, "OP": 10},
    "layout": {"genlmsghdr": layout(4, ("cmd", 0, 1, False), ("version", 1, 1, False), ("reserved", 2, 2, False))},
}

MODULES = {
    "linux.netdev": NETDEV,
    "linux.notify": NOTIFY,
    "linux.task": TASK,
    "linux.stat": STAT,
    "linux.socket": SOCKET,
    "linux.rtnetlink": RTNETLINK,
    "linux.netlink": NETLINK,
    "linux.genl": GENL,
}


def errname(code: int) -> str:
    """The bare errno name a Lunatik call raises (``"EEXIST"``), as kernels >= 6.7 print it."""
    return errno.errorcode.get(abs(code), f"E{abs(code)}")
