"""Adaptive Failover: adaptive-routing WAN failover for Linux routers."""
