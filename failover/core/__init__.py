"""Pure cores: protocol codecs and decision logic, driven by bytes and timestamps, no I/O.

Nothing here opens a socket, reads a clock or awaits; the shells in :mod:`failover.net` and
:mod:`failover.sidecar` feed these and act on what they decide.
"""
