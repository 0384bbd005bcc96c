-- require("struct"): a codec for a fixed C struct, built from a layout descriptor such as
-- require("linux.netlink").layout.nlmsghdr = {size = 16, fields = {{name, offset, size, signed}...}}.
-- The host's own implementation of Lunatik's struct library: same calls, same formats.
local codec = {}
codec.__index = codec

-- One string.pack format, native byte order: each field by its width ("I"/"i" and the
-- size), padding bytes ("x") for gaps and for the tail up to the struct's size.
local function format(layout)
	local fields = {}
	for i, f in ipairs(layout.fields) do fields[i] = f end
	table.sort(fields, function(a, b) return a.offset < b.offset end)
	local parts, at = {"="}, 0
	for _, f in ipairs(fields) do
		if f.offset < at then
			error(string.format("struct: field '%s' overlaps the field before it", f.name), 3)
		end
		parts[#parts + 1] = string.rep("x", f.offset - at) .. (f.signed and "i" or "I") .. f.size
		at = f.offset + f.size
	end
	if at > layout.size then
		error("struct: fields end past the layout's size", 3)
	end
	parts[#parts + 1] = string.rep("x", layout.size - at)
	return table.concat(parts)
end

function codec:pack(...)
	return string.pack(self.format, ...)
end

function codec:unpack(buf, pos)
	return string.unpack(self.format, buf, pos)
end

function codec:fieldsize(name)
	for _, f in ipairs(self.layout.fields) do
		if f.name == name then return f.size end
	end
	return nil
end

return function(layout)
	return setmetatable({format = format(layout), size = layout.size, layout = layout}, codec)
end
