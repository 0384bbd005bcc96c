"""CI's rule that a namespace test which does not run is a failure (FAILOVER_REQUIRE_NETNS=1).

Runs pytest in a subprocess on a scratch project that uses the suite's own conftest.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"

SCRATCH_TESTS = '''
import pytest

@pytest.mark.netns
def test_needs_a_tool():
    pytest.skip("a tool is missing")

@pytest.mark.netns
@pytest.mark.skip(reason="marked skip")
def test_marked_skip():
    pass

def test_plain_skip():
    pytest.skip("not a namespace test")
'''


def run_scratch(tmp_path: Path, require: bool) -> subprocess.CompletedProcess:
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    (tmp_path / "test_scratch.py").write_text(SCRATCH_TESTS)
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    netns: needs namespaces\n")
    env = {k: v for k, v in os.environ.items() if k != "FAILOVER_REQUIRE_NETNS"}
    if require:
        env["FAILOVER_REQUIRE_NETNS"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", str(tmp_path)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)


def test_skipped_namespace_tests_fail_when_required(tmp_path):
    r = run_scratch(tmp_path, require=True)
    assert r.returncode == 1, r.stdout
    # a skip in the test body fails it; a skip mark (taken in setup) makes an error
    assert "1 failed, 1 skipped, 1 error" in r.stdout, r.stdout
    assert "FAILED test_scratch.py::test_needs_a_tool" in r.stdout
    assert "ERROR test_scratch.py::test_marked_skip" in r.stdout
    assert "skipped while FAILOVER_REQUIRE_NETNS=1: Skipped: a tool is missing" in r.stdout


def test_skipped_namespace_tests_only_skip_otherwise(tmp_path):
    r = run_scratch(tmp_path, require=False)
    assert r.returncode == 0, r.stdout
    assert "3 skipped" in r.stdout, r.stdout


def test_ci_requires_namespace_tests():
    ci = (Path(__file__).resolve().parents[2] / ".ci" / "run").read_text()
    assert "export FAILOVER_REQUIRE_NETNS=1" in ci
