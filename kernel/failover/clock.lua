--
-- failover/clock: milliseconds that advance with real time, taken from the wall clock.
--
-- linux.time() is wall-clock time (ktime_get_real_ns) and Lunatik offers scripts no other
-- clock, but routers step it: no RTC (the first NTP sync jumps days or years), an operator
-- setting the date. A reading earlier than the last one, or later by more than the caller's
-- longest sleep plus slack, is a step: this clock then does not move, so every deadline taken
-- from it (dampening, reconcile, gateway exchanges and retries, control clients) keeps its
-- distance. A step smaller than the slack goes unseen and moves deadlines by at most that.
-- The core is pure (readings in, integers only); clock.now() reads linux.time() for the
-- daemon's runtime, whose modules all share one clock.
--
local linux = require("linux")

local SLACK_MS = 1000   -- a loop turn may run late by this much (dumps, a loaded machine)

local clock = {}

local Clock = {}
Clock.__index = Clock

-- max_gap_ms: the longest time two readings can honestly be apart.
function clock.new(max_gap_ms)
	return setmetatable({max_gap = max_gap_ms, wall = nil, ms = nil, steps = 0}, Clock)
end

-- One wall-clock reading in ms; returns the step-free time in ms, and the step when there was one.
-- Until the first step the two are equal.
function Clock:read(wall)
	local last = self.wall
	self.wall = wall
	if not last then
		self.ms = wall
		return wall
	end
	local gap = wall - last
	if gap < 0 or gap > self.max_gap then
		self.steps = self.steps + 1
		return self.ms, gap
	end
	self.ms = self.ms + gap
	return self.ms
end

local shared

-- The daemon's clock, for a loop whose longest sleep is longest_sleep_ms.
function clock.start(longest_sleep_ms)
	shared = clock.new(longest_sleep_ms + SLACK_MS)
end

function clock.now()
	local ms, step = shared:read(linux.time() // 1000000)
	if step then
		print(string.format("failover: wall clock stepped by %d ms; deadlines kept", step))
	end
	return ms
end

return clock
