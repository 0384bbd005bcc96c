-- require("socket.inet"): IPv4 sockets that take dotted-quad strings, as Lunatik's socket.inet.
local socket = require("socket")
local net = require("net")
local linux = require("linux.socket")

local af, sock, ipproto = linux.af, linux.sock, linux.ipproto

local function class(proto)
	local c = setmetatable({}, {__index = proto})
	c.__index = c
	c.__close = function(self) self:close() end
	return c
end

local inet = {localhost = "127.0.0.1"}
inet.__index = inet

function inet:close() self.socket:close() end
function inet:receive(...) return self.socket:receive(...) end

function inet:send(msg, addr, port)
	if addr == nil then
		return self.socket:send(msg)
	end
	return self.socket:send(msg, net.aton(addr), port)
end

function inet:bind(addr, port)
	self.socket:bind(addr == "*" and 0 or net.aton(addr), port)
end

function inet:connect(addr, port, flags)
	self.socket:connect(net.aton(addr), port, flags)
end

function inet:setsockopt(...) return self.socket:setsockopt(...) end

function inet:getsockname()
	local ip, port = self.socket:getsockname()
	return net.ntoa(ip), port
end

function inet:getpeername()
	local ip, port = self.socket:getpeername()
	return net.ntoa(ip), port
end

local function maker(c, type, proto)
	return setmetatable(c, {__index = inet, __call = function(cls)
		return setmetatable({socket = socket.new(af.INET, type, proto)}, cls)
	end})
end

inet.tcp = maker(class(inet), sock.STREAM, ipproto.TCP)
function inet.tcp:listen(backlog) self.socket:listen(backlog) end
function inet.tcp:accept(flags) return self.socket:accept(flags) end

inet.udp = maker(class(inet), sock.DGRAM, ipproto.UDP)
function inet.udp:receivefrom(len, flags)
	local msg, ip, port = self.socket:receive(len, flags, true)
	return msg, net.ntoa(ip), port
end
inet.udp.sendto = inet.udp.send

return inet
