-- require("net"): dotted quads to host-order integers and back.
local socket = require("socket")

return {aton = socket.__net.aton, ntoa = socket.__net.ntoa}
