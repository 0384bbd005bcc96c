"""``require("set")``: immutable string sets built once, read from any context (Lunatik's set).

``set.new{...}`` answers exact membership; ``set.labeled{[member] = label}`` answers, for a
dotted name, the union of the labels of the name and of each suffix after a '.' (a domain and
its parents).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .bridge import HostObject, argerror, as_bytes, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

SEPARATOR = b"."
MAX_LABEL = 2**32 - 1


class Set(HostObject):
    lua_class = b"set"
    lua_module = b"set"
    kernel_class = "set"
    irq_safe = True

    def __init__(self, members: list[bytes]) -> None:
        self.size = len(members)  # duplicates count, as in the kernel
        self.members = frozenset(members)


class LabeledSet(HostObject):
    lua_class = b"set.labeled"
    lua_module = b"set"
    kernel_class = "set.labeled"
    irq_safe = True

    def __init__(self, labels: dict[bytes, int]) -> None:
        self.labels = labels

    def match(self, name: bytes) -> int:
        found, i = 0, 0
        while True:
            found |= self.labels.get(name[i:], 0)
            dot = name.find(SEPARATOR, i)
            if dot < 0:
                return found
            i = dot + 1


class SetModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    @lua_function
    def new(self, members: Any, n: Any) -> Set:
        values = [members[i] for i in range(1, n + 1)]
        if not all(isinstance(v, bytes) for v in values):
            raise argerror(1, "new", "members must be strings")
        return Set(values)

    @lua_function
    def labeled(self, table: Any) -> LabeledSet:
        labels: dict[bytes, int] = {}
        for key, label in table.items():
            if not isinstance(key, bytes):
                raise argerror(1, "labeled", "members must be strings")
            if isinstance(label, bool) or not isinstance(label, int) or not 1 <= label <= MAX_LABEL:
                raise argerror(1, "labeled", "labels must be integers in [1, 2^32)")
            labels[key] = label
        return LabeledSet(labels)

    @lua_function
    def has(self, s: Set, member: Any) -> bool:
        return as_bytes(member, 2, "has") in s.members

    @lua_function
    def match(self, s: LabeledSet, name: Any) -> int:
        return s.match(as_bytes(name, 2, "match"))

    @lua_function
    def length(self, s: Any) -> int:
        return s.size if isinstance(s, Set) else len(s.labels)
