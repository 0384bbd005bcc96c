"""What runs the failover Lua scripts: in the user-space host (``launch``) or installed for a real
Lunatik kernel (``install``).
"""
