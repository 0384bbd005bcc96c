"""Thin shells over sockets and netlink: the probers, the path check, the WAN counters, the
conntrack clean-up and the control-socket client. Decisions are left to :mod:`failover.core`.
"""
