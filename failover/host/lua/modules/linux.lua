-- require("linux"): thin Lua side of failover/host/linux.py.
local backend, lib = ...
local check = lib.check

local linux = {}
for _, name in ipairs{"time", "difftime", "schedule", "random", "ifindex", "ifaddr", "errname", "numcpus"} do
	local f = backend[name]
	linux[name] = function(...) return check(f(...)) end
end
return linux
