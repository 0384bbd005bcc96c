"""The measuring core and its process: wiring of probers, election and path check (``core``),
the API child process and its link (``supervisor``, ``coreipc``, ``coreview``), hooks and reload.
"""
