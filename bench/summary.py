"""Gather the figures of one ``make bench`` run into ``bench/out/summary.json``.

Each bench writes ``<out>/<name>.json`` (``common.write_result``); this script takes the
ones written since ``--since`` (the start of the run, seconds since the epoch), so a
stale figure of an earlier run is never reported as this run's, lists the benches that
wrote nothing, and repeats every load warning.

Usage: ``python bench/summary.py --since <epoch seconds> [--out bench/out]``
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
#: the benches ``make bench`` runs, by the name of the file each writes
BENCHES = ("ingest", "grid", "tiles", "screen", "interp", "interp-scale", "global", "analytics",
           "serve")


def _warnings(obj: Any, where: str = "") -> list[str]:
    """Every non-empty ``warning`` in a bench's figures, with where it is."""
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == "warning" and v:
                out.append(f"{where}: {v}")
            else:
                out += _warnings(v, f"{where}/{k}" if where else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _warnings(v, f"{where}[{i}]")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    ap.add_argument("--since", type=float, required=True)
    a = ap.parse_args()
    summary: dict[str, Any] = {"when": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "benches": {},
                               "missing": [], "warnings": []}
    for name in BENCHES:
        path = a.out / f"{name}.json"
        if not path.exists() or path.stat().st_mtime < a.since:
            summary["missing"].append(name)
            continue
        doc = json.loads(path.read_text())
        summary["benches"][name] = doc
        summary["warnings"] += [f"{name}/{w}" for w in _warnings(doc)]
    target = a.out / "summary.json"
    target.write_text(json.dumps(summary, indent=1))
    print(f"bench summary: {target} ({len(summary['benches'])} benches)")
    for name in summary["missing"]:
        print(f"  MISSING: {name} wrote no figures in this run")
    for w in summary["warnings"]:
        print(f"  WARNING: {w}")


if __name__ == "__main__":
    main()
