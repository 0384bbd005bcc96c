-- The talk-era (Lunatik 3.x) names of require("notifier"), added to the current module by the
-- talk profile (host/registry.py): the event constants on the module, and n:delete().
local _, lib, notifier = ...

notifier.netdev = require("linux.netdev")
notifier.notify = require("linux.notify")

local Notifier = lib.classof("notifier")
Notifier.delete = Notifier.stop

return notifier
