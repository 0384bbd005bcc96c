"""Run Lua scripts in an in-process host kernel and capture what they print."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

from failover.host import Kernel, Profile


class Harness:
    def __init__(self, root: Path, talk: bool = False) -> None:
        self.root = root
        self.out, self.err = io.StringIO(), io.StringIO()
        self.kernel = Kernel(root, profile=Profile.choose(talk=talk), out=self.out, err=self.err)

    def script(self, name: str, source: str) -> str:
        path = self.root / f"{name}.lua"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
        return name

    def run(self, source: str, name: str = "t") -> list[str]:
        """Run `source` as a script; return the lines it printed."""
        self.script(name, source)
        start = len(self.out.getvalue().splitlines())
        self.kernel.run(name)
        return self.out.getvalue().splitlines()[start:]

    @property
    def errors(self) -> list[str]:
        return self.kernel.errors

    def close(self) -> None:
        self.kernel.shutdown()
