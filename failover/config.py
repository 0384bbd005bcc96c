"""The appliance's TOML configuration, validated.

Every field of the contract in docs/design.md lives here; a bad field is reported by its dotted
path (``heartbeat.interval_ms: ...``) so an operator can fix it without reading code.
"""

from __future__ import annotations

import ipaddress
import json
import re
import shlex
import tomllib
from pathlib import Path
from typing import Annotated, Literal

from .keys import read_key_file
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

# Where an installed appliance keeps its config (a service starts in /, so never a relative path);
# the annotated example is `failover conf example` (conf/failover.toml in the source tree).
DEFAULT_CONFIG = Path("/etc/failover/failover.toml")

IfName = Annotated[str, Field(min_length=1, max_length=15, pattern=r"^[^\s/:]+$")]


class _Section(BaseModel):
    # Unknown keys are typos more often than not: refuse them rather than ignore them.
    # strict: "5" is not 5 (a quoted number is a typo worth reporting, not coercing)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


def _ipv4(value: str) -> str:
    try:
        return str(ipaddress.IPv4Address(value))
    except ValueError:
        raise ValueError(f"not an IPv4 address: {value!r}") from None


_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
_ULA = ipaddress.IPv6Network("fc00::/7")


def _ipv6_lan(value: str) -> str:
    """A gateway's IPv6 address on the LAN: global unicast or ULA (never link-local, which would
    need the interface beside it), canonical text."""
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        raise ValueError(f"not an IPv6 address: {value!r}") from None
    if address.scope_id is not None or not (address in _GLOBAL_UNICAST or address in _ULA):
        raise ValueError(f"{value!r} is neither a global nor a unique local (ULA) IPv6 address")
    return str(address)


def _target_address(value: str) -> str:
    """A path-check target: an IPv4 address, or an IPv6 one that routes beyond the ISP (global
    unicast or ULA: a link-local target would need the interface beside it, and says nothing
    about the path past the ISP), canonical text."""
    return _ipv6_lan(value) if ":" in value else _ipv4(value)


Family = Literal["ipv4", "ipv6"]
#: The address families in the order the path check judges them.
FAMILIES: tuple[Family, ...] = ("ipv4", "ipv6")


def address_family(address: str) -> Family:
    """The family of a validated address (IPv6 text always holds a colon, IPv4 never)."""
    return "ipv6" if ":" in address else "ipv4"


#: Probe interval of a ``[[wan.target]]`` without ``interval_ms``, by kind.
TARGET_INTERVAL_MS = {"stamp": 5, "icmp": 100}
#: Public hosts rate-limit echo requests (and ban faster probing): no icmp target faster than this.
ICMP_MIN_INTERVAL_MS = 20


class WanTarget(_Section):
    """One probe target of the path check (``[[wan.target]]``)."""

    address: str  # IPv4, or IPv6 (global or ULA): it judges that family's path
    # An RFC 8762 reflector (UDP heartbeat.port, over IPv4 or IPv6) or an echo responder (ICMP
    # echo, or ICMPv6 echo for an IPv6 address).
    kind: Literal["stamp", "icmp"]
    interval_ms: int | None = Field(None, ge=1, le=60_000)

    _address = field_validator("address")(lambda cls, v: _target_address(v))

    @property
    def family(self) -> Family:
        return address_family(self.address)

    @field_validator("interval_ms")
    @classmethod
    def _interval_ms(cls, v: int | None, info: ValidationInfo) -> int | None:
        if v is not None and info.data.get("kind") == "icmp" and v < ICMP_MIN_INTERVAL_MS:
            raise ValueError(f"{v} ms is below {ICMP_MIN_INTERVAL_MS} ms for an icmp target "
                             "(public hosts rate-limit and ban faster probing)")
        return v

    @model_validator(mode="after")
    def _default_interval(self) -> WanTarget:
        if self.interval_ms is None:
            object.__setattr__(self, "interval_ms", TARGET_INTERVAL_MS[self.kind])
        return self


class Wan(_Section):
    interface: IfName  # site-specific: no default (a guessed name would route on the wrong link)
    #: One STAMP target (the form before ``[[wan.target]]``, still accepted).
    probe: str | None = None
    # The path check probes faster than the gateways' heartbeats: 25 % loss must be told from
    # 10 % within 2 s, which 50 probes/s cannot do (see failover/core/heartbeat.py); 200/s can.
    probe_interval_ms: int = Field(5, ge=1, le=60_000)
    target: list[WanTarget] = []
    # The path is up while at least this many targets answer (default: 1 with one target, else
    # a majority). With targets of both families each family's path is judged on its own: the
    # default is each family's majority, and a reliability set here applies to each family that
    # has targets (so it may not exceed the targets of either).
    reliability: int | None = Field(None, ge=1)

    @field_validator("probe")
    @classmethod
    def _probe(cls, v: str | None) -> str | None:
        return None if v is None else _ipv4(v)  # IPv6 targets: [[wan.target]]

    @field_validator("target")
    @classmethod
    def _target(cls, v: list[WanTarget], info: ValidationInfo) -> list[WanTarget]:
        if v and info.data.get("probe") is not None:
            raise ValueError("set wan.probe (one stamp target) or [[wan.target]], not both")
        addresses = [t.address for t in v]
        for a in addresses:
            if addresses.count(a) > 1:
                raise ValueError(f"target address {a} appears more than once")
        return v

    @field_validator("reliability")
    @classmethod
    def _reliability(cls, v: int | None, info: ValidationInfo) -> int | None:
        if v is None or "target" not in info.data:  # a bad target list is reported on its own
            return v
        targets = info.data["target"]
        n = len(targets) or (1 if info.data.get("probe") is not None else 0)
        if v > n:
            raise ValueError(f"{v} is more than the number of targets ({n})")
        counts = {f: sum(t.family == f for t in targets) for f in FAMILIES}
        if all(counts.values()):
            short = [f"{counts[f]} {f.replace('ipv', 'IPv')}" for f in FAMILIES if v > counts[f]]
            if short:
                raise ValueError(f"{v} is more than the targets of one family ({' and '.join(short)} targets): "
                                 "with targets of both families, each family's path needs this many of its own")
        return v

    @property
    def targets(self) -> list[WanTarget]:
        """Every probe target: ``[[wan.target]]``, or the one ``wan.probe`` means."""
        if self.probe is not None:
            return [WanTarget(address=self.probe, kind="stamp", interval_ms=self.probe_interval_ms)]
        return list(self.target)

    @property
    def quorum(self) -> int:
        """Targets that must answer for the path to be up (``reliability`` or its default), with
        targets of one family."""
        if self.reliability is not None:
            return self.reliability
        return _majority(len(self.targets))

    def targets_of(self, family: Family) -> list[WanTarget]:
        """The targets that judge ``family``'s path."""
        return [t for t in self.targets if t.family == family]

    @property
    def families(self) -> list[Family]:
        """The families that have targets of their own (each gets its own path verdict)."""
        return [f for f in FAMILIES if self.targets_of(f)]

    def quorum_of(self, family: Family) -> int:
        """Targets of ``family`` that must answer for its path to be up."""
        if self.reliability is not None:
            return self.reliability
        return _majority(len(self.targets_of(family)))


def _majority(targets: int) -> int:
    # As failover.core.quorum.default_reliability (the config sits below the cores).
    return 1 if targets <= 1 else targets // 2 + 1


class Failover(_Section):
    table: int = Field(100, ge=1, le=2**32 - 1)
    priority: int = Field(1000, ge=1, le=32765)
    lan_interface: IfName  # site-specific: no default

    @field_validator("table")
    @classmethod
    def _table(cls, v: int) -> int:
        # The kernel's own tables: taking over one of them would break normal routing.
        if v in (0, 253, 254, 255):
            raise ValueError(f"table {v} is reserved by the kernel (unspec/default/main/local)")
        return v


class Control(_Section):
    socket: str = Field("/run/failover/control.sock", max_length=107)  # sun_path limit
    gateway_port: int = Field(7070, ge=1, le=65535)
    # Shared with every agent (`failover agent --key-file`): up/down lines then carry an
    # HMAC-SHA256 over the command, a timestamp and a nonce (README, "Gateway control").
    key_file: str | None = None
    # Every gateway is told its wanted state again this often: a gateway that restarted learns it
    # back, and an agent's lease (`failover agent --lease`, longer than this) stays renewed.
    refresh_ms: int = Field(10_000, ge=100, le=3_600_000)

    @field_validator("socket")
    @classmethod
    def _socket(cls, v: str) -> str:
        if not v.startswith("/") or any(c in v for c in "\"\\\n\r\0"):
            raise ValueError("expected an absolute path without quotes, backslashes or newlines")
        return v


class Heartbeat(_Section):
    port: int = Field(862, ge=1, le=65535)
    interval_ms: int = Field(20, ge=1, le=60_000)
    detect_multiplier: int = Field(3, ge=1, le=255)
    recover_count: int = Field(10, ge=1, le=10_000)
    # STAMP authenticated mode (RFC 8762 §4.2.2) with this key, shared with the reflectors
    # (`failover agent --stamp-key-file`); unauthenticated mode without it.
    key_file: str | None = None


class Election(_Section):
    switch_margin: float = Field(0.2, ge=0.0, lt=1.0)
    hold_ms: int = Field(2000, ge=0, le=3_600_000)
    switch_min_ms: float = Field(1.0, ge=0.0, le=10_000.0, allow_inf_nan=False)


class Dampening(_Section):
    """Failback hold-down for a flapping WAN (kernel/failover/dampening.lua); failover is never held."""

    penalty: int = Field(1000, ge=1, le=1_000_000)          # added per flap (WAN up -> down)
    half_life_ms: int = Field(15_000, ge=1, le=3_600_000)   # the penalty halves this often
    # Suppress from the second flap (within ~20 s of the first): a WAN that comes back for a few
    # seconds and drops again is not trusted a third time. The penalty grows with every flap,
    # failed over or not, so while the flapping lasts it stays above reuse.
    suppress: int = Field(1500, ge=1)                       # above: failback suppressed...
    reuse: int = Field(750, ge=0)                           # ...until the penalty is below this
    max_penalty: int = Field(12_000, ge=1)                  # ceiling: bounds the longest hold
    min_clean_ms: int = Field(1000, ge=0, le=3_600_000)     # WAN up this long before failback

    @model_validator(mode="after")
    def _order(self) -> Dampening:
        if not self.reuse < self.suppress <= self.max_penalty:
            raise ValueError("need reuse < suppress <= max_penalty")
        return self


class Gateway(_Section):
    name: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")
    address: str
    #: The gateway's IPv6 address on the LAN (global or ULA); without it, it serves IPv4 only.
    address6: str | None = None

    _address = field_validator("address")(lambda cls, v: _ipv4(v))
    _address6 = field_validator("address6")(lambda cls, v: None if v is None else _ipv6_lan(v))


class Api(_Section):
    listen: str = "127.0.0.1:8080"
    token_file: str = "/etc/failover/token"

    @field_validator("listen")
    @classmethod
    def _listen(cls, v: str) -> str:
        host, sep, port = v.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"expected HOST:PORT, got {v!r}")
        _ipv4(host)
        return v

    @property
    def host(self) -> str:
        return self.listen.rpartition(":")[0]

    @property
    def port(self) -> int:
        return int(self.listen.rpartition(":")[2])


class Journal(_Section):
    """The decision journal (failover/sidecar/recorder.py): the measuring core's inputs, for
    ``failover replay``. Off unless the table is present."""

    path: str                                                   # absolute; the previous run's goes to PATH.1
    # Full: recording stops (the decisions up to there replay), the records left out are counted.
    max_bytes: int = Field(64 << 20, ge=4096, le=1 << 40)

    @field_validator("path")
    @classmethod
    def _path(cls, v: str) -> str:
        if not v.startswith("/") or "\0" in v:
            raise ValueError("expected an absolute path")
        return v


HookEvent = Literal["failover", "failback", "elected", "gateway", "target", "wan"]


class Hook(_Section):
    """A program run, and/or a URL posted to, on events (failover/sidecar/hooks.py says how)."""

    on: list[HookEvent] = Field(min_length=1)
    exec: str | None = None          # a program (absolute path, arguments allowed; no shell)
    url: str | None = None           # POSTed the event's JSON
    secret_file: str | None = None   # with url: X-Failover-Signature: sha256=HMAC(secret, body)
    timeout_ms: int = Field(5000, ge=1, le=600_000)   # per run or POST attempt
    queue: int = Field(64, ge=1, le=10_000)           # events waiting; beyond: dropped, counted
    retries: int = Field(3, ge=0, le=20)              # url: further attempts, backoff 0.5 s doubling

    @field_validator("exec")
    @classmethod
    def _exec(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                argv = shlex.split(v)
            except ValueError as e:
                raise ValueError(f"cannot split into arguments: {e}") from None
            if not argv or not argv[0].startswith("/"):
                raise ValueError("expected an absolute program path (and arguments)")
        return v

    @field_validator("url")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is not None and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", v):
            raise ValueError(f"expected an http:// or https:// URL, got {v!r}")
        return v

    @model_validator(mode="after")
    def _what(self) -> Hook:
        if self.exec is None and self.url is None:
            raise ValueError("a hook needs exec or url (or both)")
        if self.secret_file is not None and self.url is None:
            raise ValueError("secret_file signs the url's POSTs: set url too")
        return self


class Config(_Section):
    wan: Wan
    failover: Failover
    control: Control = Control()
    heartbeat: Heartbeat = Heartbeat()
    election: Election = Election()
    dampening: Dampening = Dampening()
    gateway: list[Gateway] = Field(min_length=1)
    api: Api = Api()
    hook: list[Hook] = []
    journal: Journal | None = None

    @model_validator(mode="after")
    def _distinct(self) -> Config:
        names = [g.name for g in self.gateway]
        addresses = [g.address for g in self.gateway]
        if len(set(names)) != len(names):
            raise ValueError("gateway names must be distinct")
        if len(set(addresses)) != len(addresses):
            raise ValueError("gateway addresses must be distinct")
        addresses6 = [g.address6 for g in self.gateway if g.address6 is not None]
        if len(set(addresses6)) != len(addresses6):
            raise ValueError("gateway address6 values must be distinct")
        if self.wan.interface == self.failover.lan_interface:
            raise ValueError("wan.interface and failover.lan_interface must differ")
        return self


class ConfigError(Exception):
    """A configuration that cannot be used; the message names each bad field."""


def _describe(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        path = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"{path}: {e['msg']}")
    return "\n".join(lines)


def parse(text: str, source: str = "<config>") -> Config:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{source}: not valid TOML: {e}") from None
    # A missing [wan] or [failover] is reported by the field it lacks (wan.interface), not
    # only by the section's name.
    for section in ("wan", "failover"):
        data.setdefault(section, {})
    try:
        return Config.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"{source}: invalid configuration\n{_describe(e)}") from None


def load(path: str | Path = DEFAULT_CONFIG) -> Config:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    cfg = parse(text, str(path))
    # Key files are read when used; a bad one is a configuration error, reported now.
    for field, key_file in (("control.key_file", cfg.control.key_file), ("heartbeat.key_file", cfg.heartbeat.key_file),
                            *((f"hook.{i}.secret_file", h.secret_file) for i, h in enumerate(cfg.hook))):
        if key_file:
            read_key(key_file, field)
    return cfg


def to_toml(cfg: BaseModel) -> str:
    """A config model as TOML text, generic over the model: every field it was given, a field added
    to the model included with no change here; a default it was not given stays unsaid (the reader
    applies it), and ``parse(to_toml(cfg)) == cfg``. Sections are ``[name]``, lists of sections
    ``[[name]]`` (so more can be appended as text); None and empty lists are left out (TOML has no
    null, and an empty list of sections has no ``[[ ]]`` form: the model's default, [], applies)."""
    return _toml_table(cfg.model_dump(exclude_none=True, exclude_unset=True), ())


def _toml_table(data: dict, path: tuple[str, ...]) -> str:
    def tables(v: object) -> bool:
        return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)

    out = "".join(f"{k} = {_toml_value(v)}\n" for k, v in data.items()
                  if not isinstance(v, dict) and not tables(v) and v != [])
    for k, v in data.items():
        name = ".".join((*path, k))
        if isinstance(v, dict):
            out += f"\n[{name}]\n" + _toml_table(v, (*path, k))
        elif tables(v):
            out += "".join(f"\n[[{name}]]\n" + _toml_table(item, (*path, k)) for item in v)
    return out


def _toml_value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        # A JSON string is a TOML basic string, but for DEL, which TOML wants escaped.
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {type(v).__name__}: {v!r}")


def read_key(path: str, field: str = "control.key_file") -> bytes:
    """A shared key file's bytes, or ConfigError naming the field that points to it."""
    try:
        return read_key_file(path, field)
    except ValueError as e:
        raise ConfigError(str(e)) from None


def stamp_key(cfg: Config) -> bytes | None:
    """The STAMP authenticated-mode key, or None for unauthenticated mode."""
    return read_key(cfg.heartbeat.key_file, "heartbeat.key_file") if cfg.heartbeat.key_file else None
