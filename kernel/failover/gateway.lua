--
-- failover/gateway: tells alternate gateways "up" or "down" over TCP without ever blocking
-- the daemon. Each gateway has a wanted state and an acknowledged one; while they differ, one
-- exchange is in flight (non-blocking connect, one line out, "ok" back), polled by the daemon's
-- loop and abandoned at its deadline. A failed exchange is retried with backoff, so a gateway
-- that was down when told catches up when it returns, and a restart re-tells everyone.
--
local inet   = require("socket.inet")
local linux  = require("linux")
local lsock  = require("linux.socket")
local crypto = require("crypto")
local clock  = require("failover.clock")

local DONTWAIT, NONBLOCK = lsock.msg.DONTWAIT, lsock.sock.NONBLOCK

local EXCHANGE_MS = 1000     -- connect + reply, whole exchange
local RETRY_MIN_MS, RETRY_MAX_MS = 100, 5000

-- Deadlines run on the daemon's step-free clock; only the signed timestamp is wall time.
local now_ms = clock.now

local Gateway = {}
Gateway.__index = Gateway

local gateway = {}

local function hex(s)
	return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end))
end

local function unhex(h)
	return (h:gsub("%x%x", function(b) return string.char(tonumber(b, 16)) end))
end

-- With a shared key: "<cmd> <unix ms> <nonce> <hmac>", the HMAC-SHA256 over the first three
-- fields; the agent checks it, the time window and the nonce (no replays). Without: "<cmd>".
local function signer(key)
	if not key then
		return function(cmd) return cmd end
	end
	local mac, rng = crypto.shash("hmac(sha256)"), crypto.rng("stdrng")
	mac:setkey(unhex(key))
	return function(cmd)
		local text = string.format("%s %d %s", cmd, linux.time() // 1000000, hex(rng:generate(16)))
		return text .. " " .. hex(mac:digest(text))
	end
end

function gateway.new(name, address, port, key)
	return setmetatable({name = name, address = address, port = port, sign = signer(key),
		backoff = RETRY_MIN_MS, retry_at = 0}, Gateway)
end

-- "up" or "down"
function Gateway:want(state)
	if self.wanted ~= state then
		self.wanted = state
		self.retry_at, self.backoff = 0, RETRY_MIN_MS
	end
end

function Gateway:busy()
	return self.job ~= nil
end

function Gateway:settled()
	return self.wanted == nil or self.wanted == self.acked
end

local function finish(self, ok, why)
	local job = self.job
	self.job = nil
	pcall(job.sock.close, job.sock)
	if ok then
		self.acked = job.msg
		self.backoff = RETRY_MIN_MS
		print(string.format("failover: gateway %s (%s) acknowledged %s", self.name, self.address, job.msg))
	else
		self.retry_at = now_ms() + self.backoff
		self.backoff = math.min(self.backoff * 2, RETRY_MAX_MS)
		print(string.format("failover: gateway %s (%s) not told %s: %s", self.name, self.address, job.msg, why))
	end
end

-- Whatever connect raises (its error names read "(efault)" before kernel 6.7), the exchange
-- goes on: a peer (getpeername) says it is connected; otherwise the deadline ends it.
local function start(self, now)
	local s = inet.tcp()
	self.job = {sock = s, msg = self.wanted, deadline = now + EXCHANGE_MS, state = "connecting"}
	local ok, err = pcall(s.connect, s, self.address, self.port, NONBLOCK)
	if not ok then
		self.job.why = "connect: " .. tostring(err)   -- in progress, or failed: only logged
	end
end

-- Progress is read from what happened, never from an error name: a peer, a reply line, or an
-- empty read (the peer closed). A receive that raises has nothing for us yet: a reset
-- connection reads as closed on the next poll, and the deadline bounds everything else.
local function step(self)
	local job = self.job
	if job.state == "connecting" then
		if not pcall(job.sock.getpeername, job.sock) then
			return
		end
		local ok, serr = pcall(job.sock.send, job.sock, self.sign(job.msg) .. "\n")
		if not ok then
			return finish(self, false, "send: " .. tostring(serr))
		end
		job.state, job.reply, job.why = "waiting", "", nil
	end
	local ok, data = pcall(job.sock.receive, job.sock, 64, DONTWAIT)
	if not ok then
		job.why = "receive: " .. tostring(data)
		return
	end
	if data == "" then
		return finish(self, false, "closed without a reply")
	end
	job.reply = job.reply .. data
	local line = job.reply:match("^([^\n]*)\n")
	if line then
		finish(self, line == "ok", line)
	elseif #job.reply > 256 then
		finish(self, false, "reply too long")
	end
end

-- Advances the exchange; returns true while one is in flight (the daemon then polls faster).
function Gateway:poll()
	local now = now_ms()
	if not self.job and not self:settled() and now >= self.retry_at then
		start(self, now)
	end
	if self.job then
		step(self)
		if self.job and now_ms() >= self.job.deadline then
			local why = self.job.why
			finish(self, false, why and "timeout (last " .. why .. ")" or "timeout")
		end
	end
	return self.job ~= nil
end

function Gateway:close()
	if self.job then
		pcall(self.job.sock.close, self.job.sock)
		self.job = nil
	end
end

return gateway
