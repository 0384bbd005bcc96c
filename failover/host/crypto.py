"""``require("crypto")``: the parts of Lunatik's crypto API the scripts use: ``shash``
(digests and HMACs by kernel algorithm name, e.g. ``"hmac(sha256)"``) and ``rng``."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from typing import TYPE_CHECKING, Any

from .bridge import HostObject, LuaError, argerror, as_bytes, as_int, lua_function

if TYPE_CHECKING:
    from .runtime import Runtime
    from .services import Services

_ALG = re.compile(r"^(?:hmac\((?P<inner>[a-z0-9]+)\)|(?P<plain>[a-z0-9]+))$")


EXPORT_TAG = b"failover-host-shash:"


class Shash(HostObject):
    lua_class = b"crypto.shash"
    kernel_class = "crypto_shash"
    lua_module = b"crypto"

    def __init__(self, algname: str) -> None:
        m = _ALG.match(algname)
        digest = m and (m["inner"] or m["plain"])
        if not digest or digest not in hashlib.algorithms_available:
            raise LuaError("ENOENT")  # the kernel has no such transform
        self.algname = algname
        self.digest_name = digest
        self.is_hmac = bool(m["inner"])
        self.key: bytes | None = None
        self.state: Any = None
        # What was hashed since init: the host's exportable state (Python's hash objects cannot
        # be serialized). The kernel exports its own descsize blob instead.
        self.fed = bytearray()

    def new(self) -> Any:
        if self.is_hmac:
            if self.key is None:
                raise LuaError("ENOKEY")
            return hmac.new(self.key, digestmod=self.digest_name)
        return hashlib.new(self.digest_name)


class Rng(HostObject):
    lua_class = b"crypto.rng"
    kernel_class = "crypto_rng"
    lua_module = b"crypto"
    algname = b"stdrng"


def _random_bytes(n: Any, fname: str) -> bytes:
    count = as_int(n, 2, fname)
    if count <= 0:
        raise argerror(2, fname, "out of bounds")
    return secrets.token_bytes(count)


class CryptoModule:
    def __init__(self, runtime: Runtime, services: Services) -> None:
        self.runtime = runtime

    @lua_function
    def shash(self, algname: Any) -> Shash:
        self.runtime.admit(Shash)
        return Shash(as_bytes(algname, 1, "shash").decode(errors="replace"))

    @lua_function
    def digestsize(self, h: Shash) -> int:
        return hashlib.new(h.digest_name).digest_size

    @lua_function
    def setkey(self, h: Shash, key: Any) -> None:
        h.key = as_bytes(key, 2, "setkey")

    @lua_function
    def digest(self, h: Shash, data: Any) -> bytes:
        d = h.new()
        d.update(as_bytes(data, 2, "digest"))
        return d.digest()

    @lua_function
    def init(self, h: Shash) -> None:
        h.state, h.fed = h.new(), bytearray()

    @lua_function
    def update(self, h: Shash, data: Any) -> None:
        if h.state is None:
            raise LuaError("EINVAL")
        chunk = as_bytes(data, 2, "update")
        h.state.update(chunk)
        h.fed += chunk

    @lua_function
    def final(self, h: Shash) -> bytes:
        if h.state is None:
            raise LuaError("EINVAL")
        out, h.state, h.fed = h.state.digest(), None, bytearray()
        return out

    @lua_function
    def export(self, h: Shash) -> bytes:
        if h.state is None:
            raise LuaError("EINVAL")
        return EXPORT_TAG + bytes(h.fed)

    @lua_function
    def import_(self, h: Shash, state: Any) -> None:
        blob = as_bytes(state, 2, "import")
        if not blob.startswith(EXPORT_TAG):
            raise LuaError("EINVAL")  # not a state this host exported
        h.state, h.fed = h.new(), bytearray(blob[len(EXPORT_TAG):])
        h.state.update(h.fed)

    @lua_function
    def rng(self, algname: Any = None) -> Rng:
        self.runtime.admit(Rng)
        r = Rng()
        if isinstance(algname, bytes):
            r.algname = algname
        return r

    @lua_function
    def generate(self, r: Rng, n: Any) -> bytes:
        return _random_bytes(n, "generate")

    @lua_function
    def getbytes(self, r: Rng, n: Any) -> bytes:
        return _random_bytes(n, "getbytes")

    @lua_function
    def info(self, r: Rng) -> Any:
        # The host's generator is the kernel's getrandom(2) through Python's secrets: no seed.
        return self.runtime.lua.table_from({b"driver_name": b"getrandom", b"seedsize": 0})

    @lua_function
    def algname(self, r: Rng) -> bytes:
        return r.algname
