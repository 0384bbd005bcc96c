import os
import shutil

import pytest

# CI (.ci/run) sets this: there a namespace test that does not run has not passed either.
REQUIRE_NETNS = "FAILOVER_REQUIRE_NETNS"


def pytest_collection_modifyitems(config, items):
    root = os.geteuid() == 0 and shutil.which("ip") is not None
    for item in items:
        if "netns" in item.keywords and not root:
            item.add_marker(pytest.mark.skip(reason="needs root and iproute2"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    # Any skip of a namespace test, whatever raised it (no root, a missing tool), fails in CI.
    if (report.skipped and not hasattr(report, "wasxfail") and "netns" in item.keywords
            and os.environ.get(REQUIRE_NETNS) == "1"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"namespace test skipped while {REQUIRE_NETNS}=1: {reason}"
