-- require("socket.unix"): AF_UNIX sockets with an optional default path, as Lunatik's.
local socket = require("socket")
local linux = require("linux.socket")

local af, sock = linux.af, linux.sock

local unix = {}
unix.__index = unix

function unix:close() self.socket:close() end
function unix:bind(path) self.socket:bind(path or self.path) end
function unix:connect(path, flags) self.socket:connect(path or self.path, flags) end
function unix:receive(...) return self.socket:receive(...) end
function unix:setsockopt(...) return self.socket:setsockopt(...) end
function unix:getsockname() return self.socket:getsockname() end
function unix:getpeername() return self.socket:getpeername() end

function unix:send(msg, path)
	if path then return self.socket:send(msg, path) end
	return self.socket:send(msg)
end

local function kind(type)
	local c = setmetatable({type = type}, {__index = unix, __call = function(cls, path)
		return setmetatable({path = path, socket = socket.new(af.UNIX, cls.type, 0)}, cls)
	end})
	c.__index = c
	c.__close = function(self) self:close() end
	return c
end

unix.stream = kind(sock.STREAM)
function unix.stream:listen(backlog) self.socket:listen(backlog) end
function unix.stream:accept(flags) return self.socket:accept(flags) end

unix.dgram = kind(sock.DGRAM)
function unix.dgram:receivefrom(len, flags) return self.socket:receive(len, flags, true) end
function unix.dgram:sendto(msg, path) return self.socket:send(msg, path or self.path) end

return unix
