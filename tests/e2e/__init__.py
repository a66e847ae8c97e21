"""End-to-end tests: the real Claude Code client, real Syncthing clusters on 127.0.0.1."""

from __future__ import annotations

import pytest

# imported by this package's conftest before any test module names it in ``pytest_plugins``:
# registered here so pytest still rewrites their asserts
pytest.register_assert_rewrite("tests.e2e.cluster_fixtures", "tests.support.cluster_fixtures")
