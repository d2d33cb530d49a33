"""``chemearth audit`` lists the website's audit log; CSVs the CLI writes cannot carry
spreadsheet formulas."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from click.testing import CliRunner

from chemearth.cli import cli


def test_audit_lists_the_latest_events(env: dict[str, str]) -> None:
    from chemearth.access.audit import AuditLog
    from chemearth.access.policy import Actor, Role

    runner = CliRunner()
    r = runner.invoke(cli, ["audit"], env=env)
    assert r.exit_code == 0
    assert "no audit events" in r.output
    home = Path(env["CHEMEARTH_HOME"])
    home.mkdir(exist_ok=True)  # opening the store for the audit log made it
    log = AuditLog(home)
    owner = Actor("ngu-owner", Role.OWNER, "NGU", token_id="0123456789ab")
    log.record("upload", owner, dataset="meuse-up", outcome="ingested", n_samples=155)
    log.record("download", owner, dataset="kola-humus", elements=["Ni", "Cu"], format="csv",
               outcome="sent")
    log.record("read", owner, dataset="kola-humus", data="samples", outcome="granted")
    r = runner.invoke(cli, ["audit"], env=env)
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert len(lines) == 3
    assert "upload" in lines[0]
    assert "ngu-owner (owner, NGU)" in lines[0]
    assert "token=0123456789ab" in lines[0]
    assert "n_samples=155" in lines[0]
    assert "elements=Ni,Cu" in lines[1]
    r = runner.invoke(cli, ["audit", "--event", "download", "--json"], env=env)
    [event] = [json.loads(x) for x in r.output.splitlines()]
    assert (event["dataset"], event["format"]) == ("kola-humus", "csv")
    r = runner.invoke(cli, ["audit", "-n", "1", "--dataset", "kola-humus", "--json"], env=env)
    assert json.loads(r.output)["event"] == "read"
    r = runner.invoke(cli, ["audit", "--home", str(home), "--actor", "nobody"])
    assert "no audit events" in r.output


def test_csv_output_of_the_cli_neutralises_formulas(
    env: dict[str, str], data_dir: Path, tmp_path: Path
) -> None:
    """A real survey with formula text in a value cell: the reject report and
    ``chemearth rejects`` quote it, and the numbers stay numbers."""
    lines = (data_dir / "meuse" / "meuse.csv").read_text().splitlines()
    lines[3] = lines[3].replace(lines[3].split(",")[5], "=HYPERLINK(1)", 1)
    lines[4] = lines[4].replace(lines[4].split(",")[5], "-cmd", 1)
    survey = tmp_path / "meuse.csv"
    survey.write_text("\n".join(lines) + "\n")
    out = tmp_path / "rejects.csv"
    runner = CliRunner()
    r = runner.invoke(cli, ["ingest", str(survey), "-d", "meuse", "--rejects", str(out)],
                      env=env)
    assert r.exit_code == 0, r.output
    for text in (out.read_text(), runner.invoke(cli, ["rejects", "meuse"], env=env).output):
        cells = [c for row in csv.reader(io.StringIO(text)) for c in row]
        assert "'=HYPERLINK(1)" in cells
        assert "'-cmd" in cells
        assert "=HYPERLINK(1)" not in cells
    r = runner.invoke(cli, ["catalog", "--format", "csv"], env=env)
    assert r.output.splitlines()[1].startswith("meuse,")
