--
-- failover/dampening: when may traffic go back to a WAN that keeps flapping?
--
-- Failover is never delayed: a dead WAN must not keep the traffic. Failback waits until the
-- WAN has been up for `min_clean_ms`, and, once repeated flaps have pushed the penalty above
-- `suppress`, until the penalty has decayed below `reuse` (RFC 2439's scheme: each flap adds
-- `penalty`, which halves every `half_life_ms`). Pure logic on millisecond timestamps, integers
-- only; the daemon owns the clock.
--
local dampening = {}
dampening.__index = dampening

function dampening.new(conf)
	return setmetatable({
		conf = conf, penalty = 0, stamp = 0, suppressed = false, up_since = nil, flaps = 0,
	}, dampening)
end

-- 2^(-dt/half_life) in integers: whole half-lives by shifts, the rest by the chord (<= 6 % high).
local function decay(value, dt, half_life)
	if dt <= 0 or value == 0 then
		return value
	end
	local halvings = dt // half_life
	if halvings >= 62 then
		return 0
	end
	value = value >> halvings
	local rest = dt % half_life
	return value - value * rest // (2 * half_life)
end

function dampening:current(now)
	return decay(self.penalty, now - self.stamp, self.conf.half_life_ms)
end

-- The WAN's raw verdict changed (carrier and path): record flaps and the start of clean time.
-- The penalty is only re-stamped here: decaying it on every query would truncate each tiny
-- step to zero and freeze it.
function dampening:wan(up, now)
	if up then
		self.up_since = self.up_since or now
		return
	end
	if self.up_since then          -- an up -> down edge is a flap
		local conf = self.conf
		self.flaps = self.flaps + 1
		-- the ceiling bounds how long a WAN that stopped flapping can stay suppressed
		self.penalty = math.min(self:current(now) + conf.penalty, conf.max_penalty)
		self.stamp = now
		if self.penalty >= conf.suppress then
			self.suppressed = true
		end
	end
	self.up_since = nil
end

-- The WAN's "up" so far was an assumption, not a verdict: its end is no flap.
function dampening:unverified()
	self.up_since = nil
end

-- May the daemon fail back now? If not, the ms to wait before asking again (nil: WAN down).
function dampening:failback(now)
	if not self.up_since then
		return false, nil
	end
	local clean = now - self.up_since
	if clean < self.conf.min_clean_ms then
		return false, self.conf.min_clean_ms - clean
	end
	if self.suppressed then
		if self:current(now) >= self.conf.reuse then
			return false, self.conf.half_life_ms // 8 + 1
		end
		self.suppressed = false
	end
	return true
end

return dampening
