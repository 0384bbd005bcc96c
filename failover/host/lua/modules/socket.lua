-- require("socket"): Lua side of failover/host/socket.py.
local backend, lib = ...
local check = lib.check

local Socket = {}
Socket.__index = Socket
lib.class("socket", Socket)

for _, name in ipairs{"send", "receive", "bind", "listen", "connect", "accept", "setsockopt",
		"getsockname", "getpeername", "close"} do
	local f = backend[name]
	Socket[name] = function(self, ...)
		return check(f(lib.self(self, "socket", name), ...))
	end
end
Socket.__close = Socket.close

local socket = {}

function socket.new(family, type, proto)
	return check(backend.new(family, type, proto))
end

-- For net.lua: the host's inet_aton/inet_ntoa.
socket.__net = {
	aton = function(s) return check(backend.aton(s)) end,
	ntoa = function(ip) return check(backend.ntoa(ip)) end,
}

return socket
