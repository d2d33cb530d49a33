"""Media and dataset versions, on both store backends: a new version keeps the media of
the samples it still holds; the media of a sample it drops are kept but not shown, and are
shown again when a later version brings the sample back."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pytest
from tests.web.site_media import media_file

from chemearth.access.gateway import Gateway
from chemearth.access.media import Upload, attach_media, list_media, media_part
from chemearth.access.policy import Actor, Role
from chemearth.errors import ChemearthWarning, NotFoundError
from chemearth.ingest import ingest, load_descriptor, shipped_descriptor
from chemearth.store import open_store

ADMIN = Actor("admin", Role.ADMIN)
ANONYMOUS = Actor.anonymous()


def _ingest(store: Any, path: Path, data_dir: Path, boundaries: Path) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        return ingest(store, load_descriptor(shipped_descriptor("jura")), path,
                      data_dir=data_dir, boundaries=boundaries)


def test_a_new_version_keeps_the_media_of_its_samples(
    store_location: str, data_dir: Path, boundaries: Path, tmp_path: Path
) -> None:
    survey = data_dir / "jura" / "jura_pred_val.csv"
    lines = survey.read_text().splitlines(keepends=True)
    shorter = tmp_path / "jura-without-the-last-site.csv"
    shorter.write_text("".join(lines[:-1]))  # Jura's sample ids are row numbers: 2 … 360
    store = open_store(store_location)
    try:
        _ingest(store, survey, data_dir, boundaries)
        gw = Gateway(store, tokens=None)
        files = []
        for sample in ("2", "360"):
            path = tmp_path / f"{sample}.jpg"
            path.write_bytes(media_file(store, "jura", sample))
            files.append(Upload(path.name, path))
        ids = {m["sample_id"]: m["media_id"] for m in
               attach_media(gw, ADMIN, "jura", files)["attached"]}

        def shown() -> list[str]:
            return [m["sample_id"] for m in list_media(Gateway(store, tokens=None), ANONYMOUS,
                                                        "jura")]

        assert shown() == ["2", "360"]
        assert _ingest(store, shorter, data_dir, boundaries).version == 2
        assert shown() == ["2"]
        with pytest.raises(NotFoundError, match="not found"):
            media_part(Gateway(store, tokens=None), ANONYMOUS, "jura", ids["360"])
        assert {r.sample_id for r in store.site_media().records("jura")} == {"2", "360"}
        _rec, blob = media_part(Gateway(store, tokens=None), ANONYMOUS, "jura", ids["2"])
        assert blob.read() == (tmp_path / "2.jpg").read_bytes()
        # the whole survey again (a third version): the site's photo is back
        changed = tmp_path / "jura-again.csv"
        changed.write_text("".join(lines).replace("\r\n", "\n") + "\n")
        assert _ingest(store, changed, data_dir, boundaries).version == 3
        assert shown() == ["2", "360"]
    finally:
        store.close()
