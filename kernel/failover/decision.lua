--
-- failover/decision: should the router be failed over? The WAN's inputs in (its link flags, the
-- path check's verdict), failover wanted on or off out: at once when the WAN is down, back only
-- once dampening allows. Pure logic on millisecond timestamps, integers only, no I/O: the daemon
-- drives it live, and `failover replay` drives this same file from a decision journal.
--
local dampening = require("failover.dampening")

local decision = {}
decision.__index = decision

-- conf: the conf.lua table (its dampening section, and whether a path check is configured).
-- judged: whether this decision's family has path-check targets of its own (default: whether
-- conf has any, conf.probe); the daemon keeps one decision per address family.
function decision.new(conf, judged)
	if judged == nil then
		judged = conf.probe ~= nil
	end
	return setmetatable({
		damp = dampening.new(conf.dampening),
		admin = false, carrier = false,
		path = true,                       -- until the path check says otherwise
		-- With a path check the path starts assumed up; its first verdict replaces that.
		path_assumed = judged,
		raw = nil,                         -- the WAN's own verdict, before dampening
		failover = false,
		follows = nil,                     -- a decision whose path verdict this one follows too
	}, decision)
end

-- The path as judged: this decision's own verdict and, for a family without path-check targets
-- of its own, the verdict of the family it follows.
function decision:path_up()
	return self.path and (self.follows == nil or self.follows.path)
end

function decision:up()
	return self.admin and self.carrier and self:path_up()
end

function decision:link(admin, carrier)
	self.admin, self.carrier = admin, carrier
end

-- The path check's verdict; true when it changed. A first "down" (the path check's target not
-- answering yet, say) fails over like any other, but it is the path check finding out, not the
-- WAN flapping: it adds no penalty, or a real outage soon after would be held as a second flap.
function decision:set_path(up)
	if self.path_assumed then
		self.path_assumed = false
		if not up then
			self.damp:unverified()
		end
	end
	if up == self.path then
		return false
	end
	self.path = up
	return true
end

-- Failover as wanted now: at once when the WAN is down; back only when dampening allows.
function decision:wanted(now)
	local raw = self:up()
	if raw ~= self.raw then
		self.raw = raw
		self.damp:wan(raw, now)
	end
	if not raw then
		return true
	end
	return self.failover and not self.damp:failback(now)
end

-- Failed over on a WAN that has been clean long enough: fail back now? If not, the ms to wait
-- before asking again (nil: not failed over, or the WAN is down).
function decision:failback(now)
	if not (self.failover and self.raw) then
		return false, nil
	end
	return self.damp:failback(now)
end

return decision
