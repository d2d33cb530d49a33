"""What the benchmarks share: the data folder, draws from the real DS-801 distributions and
running a method in its own process to measure its peak memory."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``CHEMEARTH_DATA``, else ``../shared/data`` beside the checkout."""
    env = os.environ.get("CHEMEARTH_DATA")
    return Path(env) if env else ROOT.parent / "shared" / "data"


def ds801_draw(raw: pd.DataFrame, element: str, n: int,
               rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``n`` values and ``<DL`` flags of ``element`` drawn from the DS-801 topsoils
    (``raw``: ``ds801_top5_raw.csv`` read as text)."""
    text = raw[f"Top5_{element}"].dropna()
    text = text[text != "N.S."].str.strip()
    censored = text.str.startswith("<").to_numpy()
    values = pd.to_numeric(text.str.lstrip("<"), errors="coerce").to_numpy()
    ok = np.isfinite(values) & (values > 0)
    pick = rng.integers(0, ok.sum(), n)
    return values[ok][pick], censored[ok][pick]


def run_child(cmd: list[str], label: str) -> dict[str, float]:
    """Run ``cmd`` (which prints one JSON line last); its result and peak memory (bytes)."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert p.stdout is not None
    text = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{label} failed (status {status})")
    result: dict[str, float] = json.loads(text.strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss * 1024
    return result
