"""What a bench run found: figures (gateway vs direct vs nginx), checks, the table and JSON."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson

from bench import stats


@dataclass
class Figure:
    """One measured quantity for each target of one scenario step."""

    scenario: str
    name: str  # e.g. "req/s", "p50 latency"
    unit: str  # "req/s", "ms", "MB", ...
    direct: float | None = None
    nginx: float | None = None
    newapi: float | None = None
    target: str = ""  # the target, as text

    @property
    def added(self) -> float | None:
        return stats.added(self.newapi, self.direct)

    @property
    def ratio(self) -> float | None:
        return stats.ratio(self.newapi, self.direct)

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "added": self.added, "ratio": self.ratio}


@dataclass
class Check:
    """A pass/fail bar the short bench (and CI) holds; bars are ratios or statistics."""

    name: str
    passed: bool
    detail: str


@dataclass
class Report:
    mode: str
    figures: list[Figure] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    load_at_start: tuple[float, float, float] = field(default_factory=os.getloadavg)

    def figure(self, scenario: str, name: str, unit: str, target: str = "") -> Figure:
        found = Figure(scenario, name, unit, target=target)
        self.figures.append(found)
        return found

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(Check(name, passed, detail))
        return passed

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    def as_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "machine": {**machine(), "load_average_at_start": self.load_at_start},
            "started": self.started,
            "seconds": round(time.time() - self.started, 1),
            "passed": self.passed,
            "figures": [figure.as_json() for figure in self.figures],
            "checks": [asdict(check) for check in self.checks],
            "details": self.details,
            "notes": self.notes,
        }

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(orjson.dumps(self.as_json(), option=orjson.OPT_INDENT_2))

    def table(self) -> str:
        return "\n".join([*figure_table(self.figures), "", *check_lines(self.checks)])


def machine() -> dict[str, Any]:
    model = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average": os.getloadavg(),
    }


def _number(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.{digits}f}"


def figure_table(figures: list[Figure]) -> list[str]:
    header = ("scenario", "figure", "unit", "direct", "nginx", "newapi", "added", "ratio", "target")
    rows = [header]
    for f in figures:
        rows.append(
            (
                f.scenario,
                f.name,
                f.unit,
                _number(f.direct),
                _number(f.nginx),
                _number(f.newapi),
                _number(f.added),
                _number(f.ratio),
                f.target,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for index, row in enumerate(rows):
        cells = [
            cell.ljust(width) if i < 3 or i == 8 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def check_lines(checks: list[Check]) -> list[str]:
    return [f"[{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in checks]
