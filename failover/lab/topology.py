"""The lab's topology, read from conf/lab.toml: pure data, derived addresses, no I/O but reading.

Both builders use only what this module derives: ``netns.py`` (the namespace lab) and
``compose.py`` (docker-compose.yml), so the two labs cannot drift apart.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ..package_data import conf_dir

DEFAULT_LAB = conf_dir() / "lab.toml"
API_PORT = 8080
CONTROL_PORT = 7070
STAMP_PORT = 862


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Model):
    prefix: str

    @field_validator("prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        return str(ipaddress.IPv4Network(v))

    def contains(self, address: str) -> bool:
        return ipaddress.IPv4Address(address) in ipaddress.IPv4Network(self.prefix)

    @property
    def length(self) -> int:
        return ipaddress.IPv4Network(self.prefix).prefixlen


class Lan(Segment):
    router: str
    client: str


class Wan(Segment):
    router: str
    isp: str


class Internet(Segment):
    isp: str
    host: str


class Flow(_Model):
    port: int = Field(9000, ge=1, le=65535)
    rate_pps: int = Field(50, ge=1, le=10_000)


class LabGateway(_Model):
    name: str = Field(pattern=r"^[a-z][a-z0-9]{0,9}$")
    address: str
    uplink: str
    delay_ms: int = Field(0, ge=0, le=1000)

    @property
    def uplink_net(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(self.uplink)

    @property
    def uplink_internet(self) -> str:
        """The internet host's end of the gateway's uplink (.1)."""
        return str(self.uplink_net.network_address + 1)

    @property
    def uplink_gateway(self) -> str:
        return str(self.uplink_net.network_address + 2)


class LabTopology(_Model):
    prefix: str = Field("aflab", pattern=r"^[a-z][a-z0-9]{0,7}$")
    lan: Lan
    wan: Wan
    internet: Internet
    flow: Flow = Flow()
    gateway: list[LabGateway] = Field(min_length=3)

    def ns(self, role: str) -> str:
        return f"{self.prefix}-{role}"

    @property
    def roles(self) -> list[str]:
        return ["router", "isp", "internet", "client", *(g.name for g in self.gateway)]

    def router_config(self, control_socket: str, token_file: str, listen: str = f"127.0.0.1:{API_PORT}") -> str:
        """failover.toml for the lab's router: WAN path probed at the internet host."""
        gws = "".join(f'\n[[gateway]]\nname = "{g.name}"\naddress = "{g.address}"\n' for g in self.gateway)
        return (
            f'[wan]\ninterface = "wan0"\nprobe = "{self.internet.host}"\n\n'
            f'[failover]\ntable = 100\npriority = 1000\nlan_interface = "lan0"\n\n'
            f'[control]\nsocket = "{control_socket}"\ngateway_port = {CONTROL_PORT}\n\n'
            f'[heartbeat]\nport = {STAMP_PORT}\ninterval_ms = 20\ndetect_multiplier = 3\nrecover_count = 10\n\n'
            f'[election]\nswitch_margin = 0.2\nhold_ms = 2000\n'
            f'{gws}\n[api]\nlisten = "{listen}"\ntoken_file = "{token_file}"\n'
        )


@dataclass(frozen=True)
class LabError(Exception):
    message: str

    def __str__(self) -> str:
        return self.message


def load(path: str | Path = DEFAULT_LAB) -> LabTopology:
    from pydantic import ValidationError

    try:
        data = tomllib.loads(Path(path).read_text())
        topo = LabTopology.model_validate(data)
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise LabError(f"{path}: {e}") from None
    except ValidationError as e:
        fields = "; ".join(f"{'.'.join(map(str, x['loc']))}: {x['msg']}" for x in e.errors())
        raise LabError(f"{path}: {fields}") from None
    for seg, addrs in ((topo.lan, [topo.lan.router, topo.lan.client, *(g.address for g in topo.gateway)]),
                       (topo.wan, [topo.wan.router, topo.wan.isp]),
                       (topo.internet, [topo.internet.isp, topo.internet.host])):
        for a in addrs:
            if not seg.contains(a):
                raise LabError(f"{path}: {a} is outside {seg.prefix}")
    return topo
