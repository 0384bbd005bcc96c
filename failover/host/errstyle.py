"""How the host words a failed call, as one kernel generation or the other does.

Lunatik raises the bare errno name (``"EEXIST"``) on kernels 6.7 and later. Before 6.7 it formats
the error with ``%pE`` and every errno, ``linux.errname()`` included, reads ``"(efault)"``
(Debian 12's 6.1, most LTS router kernels). Scripts must be correct under both; the host speaks
either, chosen with ``failover lunatik --errors`` or the ``FAILOVER_HOST_ERRORS`` environment
variable (which ``failover host`` and ``failover run`` honour too).
"""

from __future__ import annotations

import errno
import os

NAMES = "names"
PRE_6_7 = "pre-6.7"
STYLES = (NAMES, PRE_6_7)
ENV = "FAILOVER_HOST_ERRORS"
EFAULT = "(efault)"


def from_environment() -> str:
    style = os.environ.get(ENV, "").strip() or NAMES
    if style not in STYLES:
        raise SystemExit(f"{ENV}: expected one of {', '.join(STYLES)}, got {style!r}")
    return style


def errno_names() -> frozenset[str]:
    """Every name an errno can raise as (what ``"(efault)"`` replaces before 6.7)."""
    return frozenset(errno.errorcode.values())
