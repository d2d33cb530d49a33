"""What the benchmarks share: the data folder, draws from the real DS-801 distributions and
running a method in its own process to measure its peak memory."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

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


def run_child(cmd: list[str], label: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd`` (which prints one JSON line last); its result, its peak memory (bytes,
    ``peak_rss``) and the machine's load while it ran (``load``, see :class:`LoadMeter`)."""
    with LoadMeter() as meter:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env)
        assert p.stdout is not None
        text = p.stdout.read()
        _, status, usage = os.wait4(p.pid, 0)
    if status != 0:
        raise SystemExit(f"{label} failed (status {status})")
    result: dict[str, Any] = json.loads(text.strip().splitlines()[-1])
    result["peak_rss"] = usage.ru_maxrss * 1024
    result["cpu_s"] = usage.ru_utime + usage.ru_stime
    result["load"] = meter.result()
    return result


# ------------------------------------------------------------------ the machine's load


def _proc_stat() -> tuple[float, float]:
    """(busy CPU seconds of all CPUs, steal seconds) since boot, from ``/proc/stat``."""
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal guest guest_nice (guest is in user)
    busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6]
    steal = fields[7] if len(fields) > 7 else 0
    return busy / hz, steal / hz


def _own_cpu() -> float:
    """CPU seconds of this process and of its children that were waited for."""
    import resource

    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime


class LoadMeter:
    """The machine's load while a measurement runs: a figure is only as good as this.

    Records the load average at the start and the end, the CPU time the whole machine
    spent (``/proc/stat``), what this process and its waited-for children spent, the
    difference (other processes), and the CPU steal of the hypervisor. ``warning`` is set
    when other processes used more than 5 % of the machine or steal exceeded 2 %: such a
    figure cannot be told from a slow one.

    Examples
    --------
    >>> with LoadMeter() as m:
    ...     _ = sum(range(1000))
    >>> sorted(m.result())[:3]
    ['cpus', 'load_end', 'load_start']
    """

    #: shares of the machine above which a figure is marked as taken on a busy machine
    OTHERS_MAX, STEAL_MAX = 0.05, 0.02

    def __enter__(self) -> LoadMeter:
        self.load_start = os.getloadavg()
        self.busy0, self.steal0 = _proc_stat()
        self.own0 = _own_cpu()
        self.t0 = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.monotonic() - self.t0
        busy1, steal1 = _proc_stat()
        self.load_end = os.getloadavg()
        self.busy = busy1 - self.busy0
        self.steal = steal1 - self.steal0
        self.own = _own_cpu() - self.own0

    def result(self) -> dict[str, object]:
        cpus = os.cpu_count() or 1
        capacity = max(self.wall * cpus, 1e-9)
        others = max(self.busy - self.own, 0.0)
        out: dict[str, object] = {
            "cpus": cpus,
            "load_start": [round(v, 2) for v in self.load_start],
            "load_end": [round(v, 2) for v in self.load_end],
            "wall_s": round(self.wall, 3),
            "own_cpu_s": round(self.own, 3),
            "others_cpu_s": round(others, 3),
            "others_share": round(others / capacity, 4),
            "steal_share": round(self.steal / capacity, 4),
        }
        busy = []
        if others / capacity > self.OTHERS_MAX:
            busy.append(f"other processes used {100 * others / capacity:.0f} % of the machine")
        if self.steal / capacity > self.STEAL_MAX:
            busy.append(f"CPU steal {100 * self.steal / capacity:.0f} %")
        out["warning"] = "; ".join(busy)
        return out


def load_note(load: dict[str, object]) -> str:
    """One line for a figure's load: ``load 0.4→1.9, others 1 %, steal 0 %`` (+ warning)."""
    start, end = load["load_start"], load["load_end"]
    text = (f"load {start[0]:.2f}→{end[0]:.2f}, others {100 * float(load['others_share']):.0f} %, "  # type: ignore[index]
            f"steal {100 * float(load['steal_share']):.0f} %")
    return text + (f"  WARNING: {load['warning']}" if load["warning"] else "")


def write_result(out: Path, name: str, result: dict[str, object]) -> Path:
    """Write one bench's figures as ``<out>/<name>.json`` (``make bench`` gathers them)."""
    import platform

    out.mkdir(parents=True, exist_ok=True)
    doc = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                       "platform": platform.platform()},
           **result}
    path = out / f"{name}.json"
    path.write_text(json.dumps(doc, indent=1, default=float))
    return path
