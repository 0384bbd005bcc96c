"""``linux.time()``'s clock: the real time, shifted by an offset a test may change at run time.

Routers step their wall clock (no RTC: the first NTP sync jumps days; an operator sets the date),
and Lunatik offers scripts no other clock. To test that a step changes no decision, a test names
a file in ``FAILOVER_HOST_CLOCK_OFFSET_FILE`` and writes a signed number of milliseconds into it
while the host runs: every later ``linux.time()`` is shifted by that much, in every runtime.
A missing or empty file means no shift. A change is seen by the file's inode, mtime and size, so
replace it (write a new file, rename it over) rather than rewrite it in place with the same length.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)

ENV = "FAILOVER_HOST_CLOCK_OFFSET_FILE"


class WallClock:
    def __init__(self, offset_file: str | Path | None = None) -> None:
        self.offset_file = Path(offset_file) if offset_file else None
        self._seen: tuple[int, int, int] | None = None
        self._offset_ns = 0

    @classmethod
    def from_environment(cls) -> WallClock:
        return cls(os.environ.get(ENV) or None)

    def offset_ns(self) -> int:
        if self.offset_file is None:
            return 0
        try:
            st = self.offset_file.stat()
        except FileNotFoundError:
            self._seen, self._offset_ns = None, 0
            return 0
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self._seen:
            self._seen = key
            text = self.offset_file.read_text().strip()
            try:
                self._offset_ns = int(text or "0") * 1_000_000
            except ValueError:
                log.warning("%s: %r is not a whole number of milliseconds; no shift", self.offset_file, text)
                self._offset_ns = 0
        return self._offset_ns

    def time_ns(self) -> int:
        return time.time_ns() + self.offset_ns()
