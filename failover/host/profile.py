"""Which Lunatik the host plays, chosen once per host: the module API and the error wording.

The API is Lunatik's current one (4.4) or the talk-era one (Lunatik 3.x, Netdev 0x17), whose
script must run unmodified: the registry (``registry.py``) gives each its set of modules.

Lunatik raises the bare errno name (``"EEXIST"``) on kernels 6.7 and later. Before 6.7 it formats
the error with ``%pE`` and every errno, ``linux.errname()`` included, reads ``"(efault)"``
(Debian 12's 6.1, most LTS router kernels). Scripts must be correct under both; the host speaks
either, chosen by whoever starts it (the command line's ``--errors``), else by the
``FAILOVER_HOST_ERRORS`` environment variable.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from enum import Enum, StrEnum


class Api(Enum):
    CURRENT = "current"  # Lunatik 4.4
    TALK = "talk"  # Lunatik 3.x, as the Netdev 0x17 talk's script uses it


class ErrorStyle(StrEnum):
    NAMES = "names"  # kernels >= 6.7
    PRE_6_7 = "pre-6.7"  # every errno reads "(efault)"


ERRORS_ENV = "FAILOVER_HOST_ERRORS"
EFAULT = "(efault)"


def errors_from_environment() -> ErrorStyle:
    style = os.environ.get(ERRORS_ENV, "").strip() or ErrorStyle.NAMES
    try:
        return ErrorStyle(style)
    except ValueError:
        raise SystemExit(f"{ERRORS_ENV}: expected one of {', '.join(ErrorStyle)}, got {style!r}") from None


def errno_names() -> frozenset[str]:
    """Every name an errno can raise as (what ``"(efault)"`` replaces before 6.7)."""
    return frozenset(errno.errorcode.values())


@dataclass(frozen=True)
class Profile:
    api: Api = Api.CURRENT
    errors: ErrorStyle = ErrorStyle.NAMES

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "errors", ErrorStyle(self.errors))
        except ValueError:
            raise ValueError(f"error style {self.errors!r}: expected one of {', '.join(ErrorStyle)}") from None

    @classmethod
    def choose(cls, *, talk: bool = False, errors: str | None = None) -> Profile:
        """From the command line's switches (``--talk``, ``--errors``); errors default from the
        environment."""
        return cls(Api.TALK if talk else Api.CURRENT, ErrorStyle(errors) if errors else errors_from_environment())

    @property
    def efault(self) -> bool:
        """Every errno name reads ``"(efault)"``, as before kernel 6.7."""
        return self.errors is ErrorStyle.PRE_6_7

    def errname(self, name: str) -> str:
        return EFAULT if self.efault else name

    @property
    def rcu_strings(self) -> bool:
        """Lunatik 3's rcu tables held strings too (the talk's script keeps addresses in them)."""
        return self.api is Api.TALK

    @property
    def threads_at_load(self) -> bool:
        """Lunatik 3 let a script start a thread from its top level (4.x refuses: the runtime is
        not ready while it loads)."""
        return self.api is Api.TALK
