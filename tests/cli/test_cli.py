"""The command-line tool, in process (click's CliRunner) and through ``main()``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from chemearth.cli import cli, main

CHEMEARTH = str(Path(sys.executable).parent / "chemearth")


def test_ingest_catalog_rejects(env: dict[str, str]) -> None:
    runner = CliRunner()
    r = runner.invoke(cli, ["ingest", "-d", "meuse"], env=env)
    assert r.exit_code == 0, r.output
    assert "meuse v1: 155 samples, 620 measurements" in r.output
    r = runner.invoke(cli, ["ingest", "-d", "meuse"], env=env)
    assert "unchanged (already ingested as version 1)" in r.output
    r = runner.invoke(cli, ["catalog", "--format", "json"], env=env)
    cat = json.loads(r.output)
    assert cat["datasets"][0]["dataset_id"] == "meuse"
    assert cat["datasets"][0]["data_items"] == 620
    assert cat["countries"] == [{"country": "NL", "datasets": 1, "samples": 155, "data_items": 620}]
    r = runner.invoke(cli, ["catalog", "--by-country", "--format", "csv"], env=env)
    assert r.output.splitlines() == ["country,datasets,samples,data_items", "NL,1,155,620"]
    r = runner.invoke(cli, ["rejects", "meuse"], env=env)
    assert "no rows were rejected" in r.output


def test_catalog_table_shows_datasets_and_countries(env: dict[str, str]) -> None:
    runner = CliRunner()
    runner.invoke(cli, ["ingest", "-d", "jura"], env=env)
    r = runner.invoke(cli, ["catalog"], env=env)
    assert r.exit_code == 0
    for text in ("Datasets", "jura", "359", "Per country", "CH"):
        assert text in r.output


def test_describe_proposes_an_ingestible_descriptor(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    runner = CliRunner()
    out = tmp_path / "gemas.toml"
    r = runner.invoke(cli, ["describe", str(data_dir / "gemas" / "gemas.csv"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    text = out.read_text()
    assert 'x = "longitude"' in text
    assert 'crs = "EPSG:4326"' in text
    r = runner.invoke(cli, ["ingest", "-d", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert "2,108 samples" in r.output or "2,107 samples" in r.output


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["ingest", "-d", "no-such-dataset"], 2, "descriptor file not found"),
        (["rejects", "no-such-dataset"], 6, "dataset 'no-such-dataset' is not in the store"),
        (["ingest", "/no/such/file.csv", "-d", "meuse"], 3, "file.csv: file not found"),
    ],
)
def test_errors_are_one_line_with_exit_code(
    env: dict[str, str], args: list[str], code: int, message: str
) -> None:
    proc = subprocess.run(
        [CHEMEARTH, *args],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == code
    assert proc.stderr.startswith("error: ")
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_main_turns_an_internal_error_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import chemearth.cli.survey as mod

    def boom(*_: object, **__: object) -> None:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(mod, "show_catalog", boom)
    monkeypatch.delenv("CHEMEARTH_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exc:
        main(["catalog"])
    assert exc.value.code == 70
    err = capsys.readouterr().err
    assert "internal error: ZeroDivisionError" in err
    assert "Traceback" not in err


@pytest.mark.slow
def test_demo_ingests_every_dataset_prints_the_catalogue_and_serves(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`chemearth demo` ingests, grids, then serves the platform until stopped."""
    import socket
    import time

    import httpx

    from chemearth.ingest.shipped import shipped_descriptors

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [CHEMEARTH, "demo", "--home", str(tmp_path / "demo"), "--port", str(port)],
            env={**env, "PATH": "/usr/bin:/bin"},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 900
        while f"at {url}" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the demo did not start serving"
            time.sleep(0.5)
        for _ in range(120):
            try:
                r = httpx.get(f"{url}/api/datasets", timeout=5)
                break
            except httpx.HTTPError:
                time.sleep(0.5)
        assert r.status_code == 200
        served = {d["dataset_id"] for d in r.json()["datasets"]}
        assert served == {p.stem for p in shipped_descriptors()}
        assert httpx.get(url, timeout=5).status_code == 200  # the map page
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    stdout = log.read_text()
    for p in shipped_descriptors():
        assert f"{p.stem} v1:" in stdout
    assert "Per country" in stdout
    assert "Grid layers" in stdout
    for ds in ("usgs-ds801-top5", "kola-humus", "gemas"):
        assert any(ds in line and "built" in line for line in stdout.splitlines())
    assert "Traceback" not in stdout


def test_demo_never_wipes_a_folder_it_did_not_make(env: dict[str, str], tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "keep.txt").write_text("data")
    r = CliRunner().invoke(cli, ["demo", "--home", str(precious)], env=env)
    assert r.exit_code == 2
    assert "was not made by `chemearth demo`" in r.output
    assert (precious / "keep.txt").read_text() == "data"


def test_grid_baseline_export(env: dict[str, str], tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["ingest", "-d", "meuse"], env=env).exit_code == 0
    r = runner.invoke(cli, ["grid", "--levels", "10km,1km,500m"], env=env)
    assert r.exit_code == 0, r.output
    assert "meuse" in r.output
    assert "built" in r.output
    r = runner.invoke(cli, ["grid"], env=env)
    assert "up to date" in r.output
    r = runner.invoke(cli, ["baseline", "Zn", "--by", "landuse", "--format", "csv"], env=env)
    assert r.exit_code == 0, r.output
    header = r.output.splitlines()[0].split(",")
    assert {"landuse", "tukey_upper", "ubv", "km_median", "class_p98"} <= set(header)
    r = runner.invoke(cli, ["baseline", "Zn", "--region", "bbox:5.7,50.9,5.8,51.0"], env=env)
    assert r.exit_code == 0
    assert "Zn baseline" in r.output
    out = tmp_path / "zn.tif"
    r = runner.invoke(
        cli, ["export", "Zn", "-o", str(out), "--level", "500m", "--grid", "europe"], env=env
    )
    assert r.exit_code == 0, r.output
    assert out.stat().st_size > 0
    assert f"wrote {out}" in r.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "Ni", "-o", "x.tif"], "no global grid layer for 'Ni' at 10km"),
        (["baseline", "Zn", "--region", "country:XYZ"], "alpha-2"),
        (["export", "Zn", "-o", "x.tif", "--level", "3km"], "not a level of the global grid"),
        (["grid", "atlantis"], "not in the store: atlantis"),
    ],
)
def test_grid_commands_fail_in_one_line(
    env: dict[str, str], monkeypatch: pytest.MonkeyPatch, capsys, args, message
) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    main(["ingest", "-d", "meuse"])
    capsys.readouterr()
    main(["grid", "--levels", "80km,10km"])
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main(args)
    assert exc.value.code != 0
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1, err
