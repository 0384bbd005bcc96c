--
-- failover/daemon: owns the failover rule and table, tells gateways "up"/"down", serves the
-- control socket. Spawned first (`lunatik spawn failover/daemon`); failover/notifier then wakes
-- it on WAN events. All rtnetlink work happens here, in the thread, never in the callback.
--
-- The WAN counts as up while it is administratively up, has carrier, and its path check (the
-- sidecar's `path` verdict) says up. While it is down: rule P -> T exists once, T holds the LAN
-- prefix and `default via <elected>`, and only the elected gateway is "up".
--
local lunatik    = require("lunatik")
local thread     = require("thread")
local rcu        = require("rcu")
local completion = require("completion")
local conf       = require("failover.conf")
local fib        = require("failover.fib")
local gateway    = require("failover.gateway")
local control    = require("failover.control")
local decision   = require("failover.decision")
local clock      = require("failover.clock")

-- conf.lua carries every field (`failover conf lua` writes them all): one written by an older
-- version that lacks some is refused here, not run on defaults of this script's own.
assert(conf.refresh_ms and conf.dampening, "failover.conf lacks refresh_ms or dampening: generate it again")

local IDLE_MS = 10        -- control socket latency bound while nothing happens
local BUSY_MS = 1         -- while a gateway exchange is in flight
local RECONCILE_MS = 1000 -- full convergence even without events (self-healing)
local SETTLE_MS = 100     -- full convergence this long after an event, once the fast path is done

-- Every deadline below (and the gateways' and control clients') runs on this clock, which
-- ignores steps of the wall clock: this loop never sleeps longer than IDLE_MS.
clock.start(IDLE_MS)

-- Shared with failover/notifier: the wake-up and an event counter.
local shared = rcu.table(8)
local wake = completion.new()
shared.wake = wake
shared.events = 0
lunatik._ENV.failover = shared

local ctl = control.listen(conf.socket)

local gateways, order = {}, {}
for i, g in ipairs(conf.gateways) do
	local gw = gateway.new(g.name, g.address, conf.port, conf.key, conf.refresh_ms)
	gateways[g.address] = gw
	order[i] = gw
end

-- The WAN's inputs and the failover decision (with dampening): the pure core `failover replay` runs too.
local wan = decision.new(conf)

local state = {
	elected = conf.gateways[1].address,
	rule = false, changes = 0,
}

local dirty = true    -- a control command changed the wanted state
local woken = false   -- the notifier reported a WAN event

local function updown(b)
	return b and "up" or "down"
end

local function log(fmt, ...)
	print(string.format("failover: " .. fmt, ...))
end

-- Gateways that cannot be told (their last exchanges failed), for the sidecar's election.
local function unreachable()
	local list = {}
	for _, gw in ipairs(order) do
		if gw:unusable() then
			table.insert(list, gw.address)
		end
	end
	return #list > 0 and table.concat(list, ",") or "none"
end

local function state_line()
	return string.format("ok wan=%s carrier=%s path=%s failover=%s elected=%s rule=%s changes=%d unreachable=%s",
		updown(wan:up()), updown(wan.carrier), updown(wan.path), wan.failover and "on" or "off",
		state.elected or "none", state.rule and "present" or "absent", state.changes, unreachable())
end

local function ipv4(s)
	local a, b, c, d = s:match("^(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)%.(%d%d?%d?)$")
	if not a then
		return nil
	end
	for _, octet in ipairs{a, b, c, d} do
		if tonumber(octet) > 255 then
			return nil
		end
	end
	return s
end

local commands = {}

function commands.state(arg)
	if arg then
		return "err state takes no argument"
	end
	return state_line()
end

function commands.elect(arg)
	local address = arg and ipv4(arg)
	if not address then
		return "err usage: elect <ipv4>"
	end
	if not gateways[address] then
		return "err unknown gateway " .. address
	end
	if address ~= state.elected then
		log("elected %s (was %s)", address, state.elected)
		state.elected = address
		dirty = true
	end
	return "ok"
end

-- The sidecar saw the gateway's heartbeat come back after a loss: it may have restarted and
-- forgotten its state, so it is told again now.
function commands.reassert(arg)
	local address = arg and ipv4(arg)
	if not address then
		return "err usage: reassert <ipv4>"
	end
	local gw = gateways[address]
	if not gw then
		return "err unknown gateway " .. address
	end
	gw:reassert()
	return "ok"
end

-- The sidecar's path check verdict (failover/decision says what a first "down" means).
function commands.path(arg)
	if arg ~= "up" and arg ~= "down" then
		return "err usage: path up|down"
	end
	if wan:set_path(arg == "up") then
		log("path %s", arg)
		woken = true
	end
	return "ok"
end

-- One request line: a lowercase verb, then at most one argument after a single space.
local function handle(line)
	local verb, rest = line:match("^(%l+)(.*)$")
	local command = verb and commands[verb]
	if not command then
		return "err unknown command"
	end
	local arg = nil
	if rest ~= "" then
		arg = rest:match("^ (%S+)$")
		if not arg then
			return "err malformed arguments"
		end
	end
	return command(arg)
end

local now_ms = clock.now

local function tell_gateways()
	for _, gw in ipairs(order) do
		gw:want((wan.failover and gw.address == state.elected) and "up" or "down")
	end
end

local function transition(want)
	if want ~= wan.failover then
		wan.failover = want
		log("failover %s (admin=%s carrier=%s path=%s) via %s", want and "on" or "off",
			updown(wan.admin), updown(wan.carrier), updown(wan.path), state.elected)
	end
	tell_gateways()
end

local function read_wan(fibs)
	local ok, admin, carrier = pcall(fibs.wan, fibs)
	if ok then
		wan:link(admin, carrier)
	else
		log("cannot read the WAN link: %s", admin)
	end
end

-- After a WAN event: one link dump and at most one rule request, then the gateways.
-- Table T is kept ready at all times by converge, so the rule is all failover needs.
local function react(fibs)
	read_wan(fibs)
	local want = wan:wanted(now_ms())
	if want == wan.failover then
		return
	end
	local ok, changes = pcall(fibs.set_rule, fibs, want)
	if ok then
		state.rule, state.changes = want, state.changes + changes
	else
		log("rule %d not %s: %s", conf.priority, want and "added" or "removed", changes)
	end
	transition(want)
end

-- Everything, from dumps: table T, exactly one rule iff failover, the gateways' states.
local function converge(fibs)
	read_wan(fibs)
	local want = wan:wanted(now_ms())
	local tok, err = pcall(fibs.sync_table, fibs, state.elected)
	if not tok then
		log("table %d not converged: %s", conf.table, err)
	end
	local ok, present, changes = pcall(fibs.sync_rule, fibs, want)
	if ok then
		state.rule, state.changes = present, state.changes + changes
	else
		log("rule %d not converged: %s", conf.priority, present)
		local lok, now_present = pcall(fibs.rule_present, fibs)
		state.rule = lok and now_present
	end
	transition(want)
end

local function poll_gateways()
	local busy = false
	for _, gw in ipairs(order) do
		if gw:poll() then
			busy = true
		end
	end
	return busy
end

-- A rule left by a daemon that died (a crash, a stop while failed over) means it was failed
-- over, perhaps in the failback hold: carry on failed over, so that failback waits for the
-- clean time counted from now instead of happening at once.
local function resume(fibs)
	local ok, present = pcall(fibs.rule_present, fibs)
	if ok and present then
		wan.failover, state.rule = true, true
		log("rule %d present at start: failed over, failback after %d ms of clean WAN",
			conf.priority, wan.damp.conf.min_clean_ms)
	elseif not ok then
		log("cannot read the rules at start: %s", present)
	end
end

return function()
	local fibs <close> = fib.open(conf)
	log("daemon started: wan=%s table=%d priority=%d elected=%s", conf.wan, conf.table, conf.priority, state.elected)
	resume(fibs)
	local next_reconcile = 0
	while not thread.shouldstop() do
		ctl:poll(handle)
		if wan:failback(now_ms()) then
			woken = true   -- the WAN has been clean long enough: fail back now
		end
		if woken then
			woken = false
			react(fibs)
			next_reconcile = math.min(next_reconcile, now_ms() + SETTLE_MS)
		end
		if dirty or now_ms() >= next_reconcile then
			dirty = false
			converge(fibs)
			next_reconcile = now_ms() + RECONCILE_MS
		end
		local busy = poll_gateways()
		if wake:wait(busy and BUSY_MS or IDLE_MS) then
			woken = true
		end
	end
	for _, gw in ipairs(order) do
		gw:close()
	end
	ctl:close()
	log("daemon stopped")
end
