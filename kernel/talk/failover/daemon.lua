-- The talk showed failover/service but not its daemon (which measured heartbeat latency and
-- elected the best gateway). This stand-in, in the talk-era API, publishes a static election:
-- the first configured gateway, as a string in the shared rcu table, as Lunatik 3.x allowed.
local rcu = require("rcu")
local thread = require("thread")
local linux = require("linux")
local conf = require("failover.conf")

local elected = rcu.subscribe("elected")
elected.ip = conf.gateways[1]
print("failover/daemon: elected " .. elected.ip)

return function()
    while not thread.shouldstop() do
        linux.schedule(100)
    end
end
