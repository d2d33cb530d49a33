"""``chemearth jobs``: queue an ingest, run it with a worker, read it back — on both stores.

The job publishes its dataset only with its grid layers; a bad file ends the job failed,
with the reason, and the store as it was.
"""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from chemearth.cli import cli
from chemearth.ingest.shipped import shipped_descriptor
from chemearth.store import open_store


def _run(*args: str) -> str:
    r = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return str(r.output)


def test_a_queued_ingest_runs_and_publishes_with_its_layers(
    store_location: str, data_dir: Path, tmp_path: Path
) -> None:
    desc = shipped_descriptor("meuse")
    job_id = _run("jobs", "submit", "--store", store_location,
                  str(data_dir / "meuse" / "meuse.csv"), str(desc)).strip()
    assert open_store(store_location).job(job_id)["state"] == "queued"
    assert open_store(store_location).datasets().empty
    _run("jobs", "run", "--once", "--store", store_location)
    shown = json.loads(_run("jobs", "show", "--store", store_location, job_id))
    assert shown["state"] == "done", shown
    assert shown["progress"] == 1.0
    assert "payload" not in shown
    store = open_store(store_location)
    assert store.datasets()["dataset_id"].tolist() == ["meuse"]
    assert "meuse" in set(store.cell_versions()["dataset_id"])
    listing = _run("jobs", "--store", store_location)
    assert job_id in listing
    assert "done" in listing

    bad = tmp_path / "meuse.csv"
    bad.write_text("x,y\n1,2\n")
    failed = _run("jobs", "submit", "--store", store_location, str(bad), str(desc)).strip()
    _run("jobs", "run", "--once", "--store", store_location)
    job = open_store(store_location).job(failed)
    assert job["state"] == "failed"
    assert "meuse.csv" in job["message"]
    assert str(tmp_path) not in job["message"]
    assert open_store(store_location).datasets(all_versions=True)["version"].tolist() == [1]
