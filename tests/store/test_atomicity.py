"""A killed or failed ingest leaves the store exactly as it was, and usable.

Each case runs ``chemearth ingest`` in a child process and kills it with SIGKILL at a
different point of the write: while the Parquet files are being written, just before
they are renamed into place, and inside the catalogue transaction.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from chemearth.errors import IngestRejected
from chemearth.ingest.descriptor import load_descriptor
from chemearth.ingest.pipeline import ingest
from chemearth.ingest.shipped import shipped_descriptor
from chemearth.store import EmbeddedStore, open_store

CHEMEARTH = str(Path(sys.executable).parent / "chemearth")


def _big_survey(folder: Path, rows: int = 400_000) -> Path:
    """A synthetic survey in the Netherlands, large enough to take a few seconds."""
    rng = np.random.default_rng(7)
    df = pd.DataFrame(
        {
            "id": [f"S{i:07d}" for i in range(rows)],
            "lon": np.round(rng.uniform(5.0, 5.8, rows), 5),
            "lat": np.round(rng.uniform(51.9, 52.3, rows), 5),
        }
    )
    for e in ("Cu", "Zn", "Pb", "Cd", "As", "Ni", "Cr", "Co", "V", "Mn", "Ba", "Sr"):
        df[e] = np.round(rng.lognormal(3, 1, rows), 2)
    csv = folder / "big.csv"
    df.to_csv(csv, index=False)
    columns = "\n".join(f'{e} = "{e}"' for e in df.columns[3:])
    (folder / "big.toml").write_text(f"""
[dataset]
id = "big"
title = "Synthetic survey for the atomicity test"
countries = ["NL"]
medium = "topsoil"
[source]
path = "{csv}"
[coordinates]
x = "lon"
y = "lat"
[sample]
id = "id"
[columns]
{columns}
""")
    return folder / "big.toml"


def _snapshot(home: Path) -> dict[str, object]:
    store = EmbeddedStore(home, read_only=True)
    files = sorted(str(p.relative_to(home)) for p in (home / "data").rglob("*") if p.is_file())
    return {
        "versions": store.datasets(all_versions=True).to_csv(index=False),
        "samples": store.samples().to_csv(index=False),
        "measurements": store.measurements().to_csv(index=False),
        "catalog": store.dataset_summary().to_csv(index=False),
        "countries": store.country_summary().to_csv(index=False),
        "files": files,
    }


@pytest.fixture
def seeded(tmp_path: Path, data_dir: Path, boundaries: Path) -> Path:
    home = tmp_path / "store"
    desc = load_descriptor(shipped_descriptor("meuse"))  # type: ignore[arg-type]
    ingest(open_store(home), desc, data_dir=data_dir, boundaries=boundaries)
    return home


def _run_and_kill(
    home: Path, descriptor: Path, boundaries: Path, fault: str | None, flag: Path
) -> None:
    env = {**os.environ, "CHEMEARTH_HOME": str(home), "CHEMEARTH_BOUNDARIES": str(boundaries)}
    if fault:
        env["CHEMEARTH_FAULT"] = fault
        env["CHEMEARTH_FAULT_FLAG"] = str(flag)
    proc = subprocess.Popen(
        [CHEMEARTH, "ingest", "-d", str(descriptor)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("the ingest finished before it could be killed")
            if fault and flag.exists():
                break
            if not fault and any(
                p.stat().st_size > 1_000_000 for p in (home / "tmp").rglob("*.parquet")
            ):
                break  # mid-way through writing the Parquet files
            time.sleep(0.02)
        else:
            pytest.fail("the ingest never reached the point to kill it at")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


@pytest.mark.slow
@pytest.mark.parametrize("fault", [None, "before-rename", "before-commit"])
def test_sigkill_leaves_store_unchanged_and_usable(
    seeded: Path, tmp_path: Path, boundaries: Path, fault: str | None
) -> None:
    descriptor = _big_survey(tmp_path)
    before = _snapshot(seeded)
    _run_and_kill(seeded, descriptor, boundaries, fault, tmp_path / "reached")
    visible = {k: v for k, v in _snapshot(seeded).items() if k != "files"}
    assert visible == {k: v for k, v in before.items() if k != "files"}
    # the next writer's open removes the files the killed process left behind
    open_store(seeded)
    assert _snapshot(seeded) == before
    # still usable: the same ingest now succeeds, and only it was added
    report = ingest(open_store(seeded), load_descriptor(descriptor), boundaries=boundaries)
    assert (report.status, report.version, report.n_samples) == ("ingested", 1, 400_000)
    after = EmbeddedStore(seeded, read_only=True).datasets()
    assert sorted(after["dataset_id"]) == ["big", "meuse"]
    assert not list((seeded / "tmp").glob("*"))


def test_failed_strict_ingest_leaves_store_unchanged(
    seeded: Path, tmp_path: Path, boundaries: Path
) -> None:
    csv = tmp_path / "bad.csv"
    csv.write_text("id,lon,lat,Cu\nA,5.5,52.0,12\nB,5.6,52.1,abc\n")
    desc = tmp_path / "bad.toml"
    desc.write_text(f"""
[dataset]
id = "bad"
title = "one bad row"
countries = ["NL"]
[source]
path = "{csv}"
[coordinates]
x = "lon"
y = "lat"
[sample]
id = "id"
[columns]
Cu = "Cu"
""")
    before = _snapshot(seeded)
    with pytest.raises(IngestRejected, match=r"bad\.csv, row 3, column 'Cu'"):
        ingest(open_store(seeded), load_descriptor(desc), boundaries=boundaries, strict=True)
    assert _snapshot(seeded) == before
    assert not list((seeded / "tmp").glob("*"))
