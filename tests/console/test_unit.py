"""The console's own checks, run from pytest so ``make test`` includes them: Vitest and vue-tsc."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.console.conftest import CONSOLE


def _node_tool(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CONSOLE / "node_modules" / ".bin" / tool), *args],
        cwd=CONSOLE,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, "NO_COLOR": "1", "CI": "true"},
    )


def test_vitest_unit_tests_pass(node_modules: Path) -> None:
    result = _node_tool("vitest", "run", "--reporter=default")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    passed = re.search(r"Tests\s+(\d+) passed", output)
    assert passed is not None, output
    assert int(passed.group(1)) >= 60, output  # the suite ran, not an empty selection


def test_console_typechecks(node_modules: Path) -> None:
    result = _node_tool("vue-tsc", "--noEmit", "-p", "tsconfig.json")
    assert result.returncode == 0, result.stdout + result.stderr
