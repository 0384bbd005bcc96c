--
-- failover/control: the control socket, one request line and one reply line per connection.
-- Served without blocking: accepts and reads are DONTWAIT, each client has a byte and a time
-- budget, so a slow, idle, half-open or hostile client costs the others nothing.
--
local unix  = require("socket.unix")
local lsock = require("linux.socket")
local clock = require("failover.clock")

local DONTWAIT, NONBLOCK = lsock.msg.DONTWAIT, lsock.sock.NONBLOCK

local MAX_LINE = 256
local MAX_CLIENTS = 32      -- requests being read at once; more make the oldest leave
local BACKLOG = 1024        -- connections the kernel queues between two polls
local ACCEPTS = 128         -- accepted per poll: bounded work, and a flood still drains
local IDLE_MS = 2000

local control = {}
control.__index = control

local now_ms = clock.now   -- the daemon's step-free clock

function control.listen(path)
	local s = unix.stream(path)
	s:bind()
	s:listen(BACKLOG)
	return setmetatable({server = s, clients = {}}, control)
end

local function reply(client, line)
	pcall(client.sock.send, client.sock, line .. "\n")
	pcall(client.sock.close, client.sock)
end

local function accept(self)
	for _ = 1, ACCEPTS do
		local ok, s = pcall(self.server.accept, self.server, NONBLOCK)
		if not ok then
			return
		end
		if #self.clients >= MAX_CLIENTS then
			-- full of idle or slow clients: the oldest makes room, so they cannot lock others out
			reply(table.remove(self.clients, 1), "err busy")
		end
		table.insert(self.clients, {sock = s, buf = "", deadline = now_ms() + IDLE_MS})
	end
end

-- Returns the request line once complete, false while waiting, or nil, reason to drop.
-- A receive that raises means nothing to read yet, whatever its error says (before kernel 6.7
-- every error reads "(efault)"): a client that hung up reads as EOF, and the idle deadline
-- drops any other.
local function read(client)
	local ok, data = pcall(client.sock.receive, client.sock, MAX_LINE + 1, DONTWAIT)
	if not ok then
		return false
	end
	if data == "" then
		-- EOF: a last line without its newline still counts, nothing at all is a hang-up
		if client.buf ~= "" then
			return (client.buf:gsub("\r$", ""))
		end
		return nil, "closed"
	end
	client.buf = client.buf .. data
	local line = client.buf:match("^([^\n]*)\n")
	if line then
		return (line:gsub("\r$", ""))
	end
	if #client.buf > MAX_LINE then
		return nil, "line too long"
	end
	return false
end

-- Serves whatever is ready; handle(line) returns the reply line.
function control:poll(handle)
	accept(self)
	local now, kept = now_ms(), {}
	for _, client in ipairs(self.clients) do
		local line, why = read(client)
		if line then
			local ok, answer = pcall(handle, line)
			reply(client, ok and answer or "err internal: " .. tostring(answer))
		elseif line == nil then
			if why ~= "closed" then
				reply(client, "err " .. why)
			else
				pcall(client.sock.close, client.sock)
			end
		elseif now >= client.deadline then
			reply(client, "err timeout")
		else
			table.insert(kept, client)
		end
	end
	self.clients = kept
end

function control:close()
	for _, client in ipairs(self.clients) do
		pcall(client.sock.close, client.sock)
	end
	self.clients = {}
	self.server:close()
end
control.__close = control.close

return control
