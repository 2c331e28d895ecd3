"""Benchmark plumbing: repeated timings, medians, rows, and the JSON/Markdown writers.

A row is one comparison measured side by side in the same run. Each figure is the median
over ``repeats`` runs; the headline is a ratio of two medians. A row whose capability or
tool is missing says ``not available: <reason>`` and carries no number.
"""

from __future__ import annotations

import json
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    value = fn()
    return time.perf_counter() - started, value


def median_time(fn: Callable[[], Any], repeats: int) -> tuple[float, list[float], Any]:
    """Median wall time of ``fn`` over ``repeats`` runs (and every sample, last result)."""
    samples: list[float] = []
    value: Any = None
    for _ in range(repeats):
        elapsed, value = timed(fn)
        samples.append(elapsed)
    return statistics.median(samples), samples, value


@dataclass
class Row:
    id: str
    title: str
    available: bool = True
    reason: str = ""
    repeats: int = 0
    measurements: dict[str, float | str] = field(default_factory=dict)  # name -> median s
    ratios: dict[str, float | str] = field(default_factory=dict)  # name -> ratio
    notes: list[str] = field(default_factory=list)

    @classmethod
    def unavailable(cls, id_: str, title: str, reason: str) -> Row:
        return cls(id_, title, available=False, reason=reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "status": "ok" if self.available else f"not available: {self.reason}",
            "repeats": self.repeats,
            "measurements_s": self.measurements,
            "ratios": self.ratios,
            "notes": self.notes,
        }


def _fmt(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return f"{value:.3f}" if value < 100 else f"{value:.0f}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    lines = [
        "# nbaops benchmarks",
        "",
        f"Generated {meta['generated_at']} on {meta['machine']} (Python {meta['python']}). "
        "Every figure is a median over repeated runs; every ratio compares two figures "
        "measured side by side in this run.",
        "",
        "| # | benchmark | medians (s) | ratios | notes |",
        "|---|---|---|---|---|",
    ]
    for number, row in enumerate(rows, 1):
        if not row.available:
            lines.append(
                f"| {number} | {_cell(row.title)} | not available: {_cell(row.reason)} | | |"
            )
            continue
        medians = "<br>".join(f"{_cell(k)}: {_fmt(v)}" for k, v in row.measurements.items())
        ratios = "<br>".join(f"{_cell(k)}: **{_fmt(v)}**" for k, v in row.ratios.items())
        notes = "<br>".join(_cell(n) for n in [f"n={row.repeats}", *row.notes])
        lines.append(f"| {number} | {_cell(row.title)} | {medians} | {ratios} | {notes} |")
    return "\n".join(lines) + "\n"


def write_reports(rows: list[Row], out_dir: Path) -> tuple[Path, Path]:
    meta = {
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "python": platform.python_version(),
        "machine": f"{platform.system()} {platform.machine()}",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "bench.json", out_dir / "bench.md"
    json_path.write_text(
        json.dumps({**meta, "rows": [r.to_json() for r in rows]}, indent=2) + "\n", encoding="utf-8"
    )
    md_path.write_text(render_markdown(rows, meta), encoding="utf-8")
    return json_path, md_path
