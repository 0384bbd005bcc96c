--
-- failover/gateway: tells alternate gateways "up" or "down" over TCP without ever blocking
-- the daemon. Each gateway has a wanted state and an acknowledged one; while they differ, one
-- exchange is in flight (non-blocking connect, one line out, "ok" back), polled by the daemon's
-- loop and abandoned at its deadline. A failed exchange is retried with backoff, so a gateway
-- that was down when told catches up when it returns, and a restart re-tells everyone.
--
-- An acknowledgement is not trusted forever: a gateway that restarts forgets what it was told.
-- The wanted state is told again every refresh_ms (the agent's lease, `failover agent --lease`,
-- lapses without it) and at once when the sidecar reports the gateway back after a heartbeat
-- loss (reassert). A gateway whose last UNUSABLE_AFTER exchanges failed is reported unusable,
-- so that the election moves on; its first acknowledgement clears that.
--
local inet   = require("socket.inet")
local linux  = require("linux")
local lsock  = require("linux.socket")
local crypto = require("crypto")
local clock  = require("failover.clock")

local DONTWAIT, NONBLOCK = lsock.msg.DONTWAIT, lsock.sock.NONBLOCK

local EXCHANGE_MS = 1000     -- connect + reply, whole exchange
local RETRY_MIN_MS, RETRY_MAX_MS = 100, 5000
local UNUSABLE_AFTER = 2     -- failed exchanges in a row: ~2.1 s of silence with the backoff

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

function gateway.new(name, address, port, key, refresh_ms)
	return setmetatable({name = name, address = address, port = port, sign = signer(key),
		refresh_ms = refresh_ms, backoff = RETRY_MIN_MS, retry_at = 0, refresh_at = 0, fails = 0}, Gateway)
end

-- "up" or "down"
function Gateway:want(state)
	if self.wanted ~= state then
		self.wanted = state
		self.retry_at, self.backoff = 0, RETRY_MIN_MS
	end
end

-- The gateway may have lost what it was told (its heartbeat came back after a loss): tell it
-- again now, without waiting for the refresh or a backoff.
function Gateway:reassert()
	self.acked = nil
	self.retry_at, self.backoff = 0, RETRY_MIN_MS
end

function Gateway:busy()
	return self.job ~= nil
end

function Gateway:settled()
	return self.wanted == nil or self.wanted == self.acked
end

function Gateway:unusable()
	return self.fails >= UNUSABLE_AFTER
end

-- An exchange is due when the gateway is not known to hold the wanted state (after the
-- backoff), or when it does and its refresh is due.
local function due(self, now)
	if self.wanted == nil then
		return false
	elseif self.wanted ~= self.acked then
		return now >= self.retry_at
	end
	return now >= self.refresh_at
end

local function finish(self, ok, why)
	local job = self.job
	self.job = nil
	pcall(job.sock.close, job.sock)
	if ok then
		local news = self.acked ~= job.msg or self.fails > 0
		self.acked, self.fails = job.msg, 0
		self.backoff = RETRY_MIN_MS
		self.refresh_at = now_ms() + self.refresh_ms
		if news then   -- a refresh that changes nothing is not worth a line
			print(string.format("failover: gateway %s (%s) acknowledged %s", self.name, self.address, job.msg))
		end
	else
		-- What it holds is unknown now: tell it again after the backoff.
		self.acked, self.fails = nil, self.fails + 1
		self.retry_at = now_ms() + self.backoff
		self.backoff = math.min(self.backoff * 2, RETRY_MAX_MS)
		print(string.format("failover: gateway %s (%s) not told %s: %s (%d failed in a row%s)", self.name,
			self.address, job.msg, why, self.fails, self:unusable() and ", unusable" or ""))
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
	if not self.job and due(self, now) then
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
