"""The host's netlink.rt with family = AF_INET6 (rules, routes, addresses), as the failover scripts
use it, against a real kernel in a namespace of its own (test_host_netlink.py's box)."""

import socket

from .test_host_netlink import box, lunatik  # noqa: F401  (box is a fixture)

INET6 = socket.AF_INET6


def test_ipv6_rule_add_list_del_and_errno_names(box, tmp_path):  # noqa: F811
    rc, out, err = lunatik(box, tmp_path, f"""
        local rt = require("netlink").rt
        local INET6 = require("linux.socket").af.INET6
        local r <close> = rt.rule()
        r:add{{family = INET6, table = 100, priority = 1000}}
        print(select(2, pcall(r.add, r, {{family = INET6, table = 100, priority = 1000}})))
        for _, x in ipairs(r:list(INET6)) do
            if x.priority == 1000 then print(string.format("%d %d", x.family, x.table)) end
        end
        for _, x in ipairs(r:list(require("linux.socket").af.INET)) do
            if x.priority == 1000 then print("an IPv4 rule?") end
        end
        r:del{{family = INET6, table = 100, priority = 1000}}
        print(select(2, pcall(r.del, r, {{family = INET6, table = 100, priority = 1000}})))
    """)
    assert rc == 0, err
    assert out == ["EEXIST", f"{INET6} 100", "ENOENT"]


def test_ipv6_routes_and_addresses(box, tmp_path):  # noqa: F811
    box.ip("box", "addr", "add", "fd00:1::1/64", "dev", "a0", "nodad")
    rc, out, err = lunatik(box, tmp_path, """
        local rt, linux = require("netlink").rt, require("linux")
        local INET6 = require("linux.socket").af.INET6
        local function hex(b) return (b:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end
        local a <close> = rt.addr()
        local oif = linux.ifindex("a0")
        for _, x in ipairs(a:list(INET6)) do
            if x.ifindex == oif then print(string.format("%s %d %d", hex(x.address), x.prefix_len, x.scope)) end
        end
        local r <close> = rt.route()
        local dst = string.pack(">I4I4I4I4", 0xfd000001, 0, 0, 0)
        local gw = string.pack(">I4I4I4I4", 0xfd000001, 0, 0, 0xfe)
        r:add{family = INET6, table = 100, dst = dst, dst_len = 64, oif = oif}
        r:add{family = INET6, table = 100, gateway = gw, oif = oif}
        print(select(2, pcall(r.add, r, {family = INET6, table = 100, gateway = gw, oif = oif})))
        for _, x in ipairs(r:list(INET6)) do
            if x.table == 100 then
                print(string.format("%d %s %s", x.dst_len, x.gateway and hex(x.gateway) or "-", x.oif == oif))
            end
        end
        r:del{family = INET6, table = 100, gateway = gw, oif = oif}
        print(select(2, pcall(r.del, r, {family = INET6, table = 100, gateway = gw, oif = oif})))
    """)
    assert rc == 0, err
    # the global (scope 0) address, then the link-local one (scope 253), whatever order the kernel lists
    addresses = sorted(out[:2])
    assert addresses[0] == "fd000001000000000000000000000001 64 0"
    assert addresses[1].startswith("fe80") and addresses[1].endswith(" 64 253")
    assert out[2:] == ["EEXIST", "64 - true", "0 fd0000010000000000000000000000fe true", "ESRCH"]
