"""``chemearth media add | list | remove`` on a store with the Jura survey."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from click.testing import CliRunner
from tests.web.site_media import media_file

from chemearth.cli import cli
from chemearth.errors import ChemearthWarning


def test_media_add_list_and_remove(env: dict[str, str], data_dir: Path,
                                   boundaries: Path, tmp_path: Path) -> None:
    from chemearth.ingest import ingest, load_descriptor, shipped_descriptor
    from chemearth.store import open_store

    store = open_store(env["CHEMEARTH_HOME"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, load_descriptor(shipped_descriptor("jura")), data_dir=data_dir,
               boundaries=boundaries)
    near, far, video = tmp_path / "ridge.jpg", tmp_path / "7.jpg", tmp_path / "8.mp4"
    near.write_bytes(media_file(store, "jura", "6"))
    far.write_bytes(media_file(store, "jura", "7", away_m=5000))
    video.write_bytes(media_file(store, "jura", "8", "video"))
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("file,sample_id\nridge.jpg,6\n")
    runner = CliRunner()
    r = runner.invoke(cli, ["media", "add", "jura", str(near), str(far), str(video),
                            "--manifest", str(manifest)], env=env)
    assert r.exit_code == 0, r.output
    assert "ridge.jpg -> sample 6 (image, 800x600, 0 m from the sample): attached" in r.output
    assert "8.mp4 -> sample 8 (video, 320x240" in r.output
    assert "warning: 7.jpg: the position recorded in the file is 5,000 m from sample '7'" \
        in r.output
    r = runner.invoke(cli, ["media", "list", "jura", "--json"], env=env)
    items = [json.loads(line) for line in r.output.splitlines()]
    assert [(m["sample_id"], m["kind"]) for m in items] == [("6", "image"), ("7", "image"),
                                                            ("8", "video")]
    r = runner.invoke(cli, ["media", "list", "jura", "--sample", "7"], env=env)
    assert r.exit_code == 0
    assert "WARNING" in r.output
    assert "5,000 m" in r.output
    # a bad file refuses the whole upload, with its name and why
    bad = tmp_path / "9.jpg"
    bad.write_bytes((data_dir / "jura" / "jura_pred_val.csv").read_bytes())
    r = runner.invoke(cli, ["media", "add", "jura", str(near), str(bad)], env=env)
    assert r.exit_code != 0
    assert "9.jpg: not a JPEG, PNG or WebP image" in str(r.exception)
    r = runner.invoke(cli, ["media", "remove", "jura", items[0]["media_id"]], env=env)
    assert r.exit_code == 0, r.output
    r = runner.invoke(cli, ["media", "list", "jura", "--json"], env=env)
    assert [json.loads(line)["sample_id"] for line in r.output.splitlines()] == ["7", "8"]
