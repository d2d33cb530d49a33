"""Photos and videos in the store (``Store.site_media``), on both backends.

Parts are real bytes: photos and a video of Jura sampling sites drawn from the survey's own
sample points (``tests/web/site_media.py``), and, for a part of several chunks, the DS-801
spreadsheet as published (3.9 MB; the store keeps bytes, it does not look at them).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.web.site_media import moved, site_photo, site_video

from chemearth.store import open_store
from chemearth.store.media import CHUNK_BYTES, MediaRecord, NewMedia, media_id

CHEMEARTH = str(Path(sys.executable).with_name("chemearth"))


@pytest.fixture
def store(store_location: str) -> Any:
    s = open_store(store_location)
    yield s
    s.close()


@pytest.fixture(scope="module")
def jura(data_dir: Path) -> dict[str, Any]:
    """Jura's sample points and site photos, video and big file built from them."""
    frame = pd.read_csv(data_dir / "jura" / "jura_pred_val.csv")
    points = tuple(zip(frame["long"].round(6), frame["lat"].round(6), strict=True))
    site2, site3 = points[0], points[1]  # samples "2" and "3" (the file's rows 2 and 3)
    return {
        "points": points,
        "photo": site_photo(points, site2, site2),
        "far": site_photo(points, site2, moved(*site2, 5000)),
        "png": site_photo(points, site3, None, "PNG"),
        "video": site_video(points, site3, site3),
        "big": (data_dir / "usgs_ds801" / "Appendix_2a_Top5_18Sept2013.xls").read_bytes(),
    }


def _item(dataset: str, sample: str, data: bytes, kind: str = "image",
          ctype: str = "image/jpeg", name: str = "", poster: bytes | None = None
          ) -> NewMedia:
    rec = MediaRecord(media_id(dataset, sample, data), dataset, sample, kind, ctype,
                      name or f"{sample}.jpg", len(data), "sha", 800, 600,
                      2.0 if kind == "video" else None, 6.85, 47.14, 3.5, "", "admin", "EPFL")
    parts: dict[str, Path | bytes] = {"file": data, "thumbnail": data[:200]}
    if poster is not None:
        parts["poster"] = poster
    return NewMedia(rec, parts)


def test_items_are_added_read_and_removed(store: Any, jura: dict[str, Any]) -> None:
    media = store.site_media()
    photo = _item("jura", "2", jura["photo"])
    video = _item("jura", "3", jura["video"], "video", "video/mp4", "3.mp4", jura["png"])
    assert media.add([video, photo]) == [video.record.media_id, photo.record.media_id]
    recs = media.records("jura")
    assert [r.sample_id for r in recs] == ["2", "3"]  # by sample id
    assert recs[0] == photo.record
    assert recs[1].duration_s == 2.0
    for item, part, data, ctype in (
        (photo, "file", jura["photo"], "image/jpeg"),
        (photo, "thumbnail", jura["photo"][:200], "image/jpeg"),
        (video, "file", jura["video"], "video/mp4"),
        (video, "poster", jura["png"], "image/jpeg"),
    ):
        blob = media.open(item.record.media_id, part)
        assert (blob.read(), blob.size, blob.content_type) == (data, len(data), ctype)
    assert media.open(photo.record.media_id, "poster") is None
    assert media.open(photo.record.media_id, "nothing") is None
    assert media.open("0" * 20, "file") is None
    # the same file for the same sample is the same item: nothing is added again
    assert media.add([_item("jura", "2", jura["photo"])]) == []
    assert len(media.records()) == 2
    assert media.delete([photo.record.media_id, "0" * 20]) == 1
    assert [r.media_id for r in media.records()] == [video.record.media_id]
    assert media.open(photo.record.media_id, "file") is None
    assert media.record(photo.record.media_id) is None


@pytest.mark.parametrize(
    ("dataset", "samples", "ids", "want"),
    [
        (None, None, None, ["jura/2", "jura/2~far", "jura/3", "kola-humus/2"]),
        ("jura", None, None, ["jura/2", "jura/2~far", "jura/3"]),
        ("kola-humus", None, None, ["kola-humus/2"]),
        ("jura", ["2"], None, ["jura/2", "jura/2~far"]),
        (None, ["2"], None, ["jura/2", "jura/2~far", "kola-humus/2"]),
        ("jura", [], None, []),
        (None, None, ["jura/3", "kola-humus/2"], ["jura/3", "kola-humus/2"]),
        ("no-such-dataset", None, None, []),
    ],
)
def test_records_are_filtered_and_ordered(store: Any, jura: dict[str, Any], dataset: str | None,
                                          samples: list[str] | None, ids: list[str] | None,
                                          want: list[str]) -> None:
    items = {"jura/2": _item("jura", "2", jura["photo"]),
             "jura/2~far": _item("jura", "2", jura["far"], name="2-far.jpg"),
             "jura/3": _item("jura", "3", jura["png"], ctype="image/png"),
             "kola-humus/2": _item("kola-humus", "2", jura["photo"])}
    media = store.site_media()
    media.add(list(items.values()))
    by_id = {it.record.media_id: key for key, it in items.items()}
    chosen = None if ids is None else [items[k].record.media_id for k in ids]
    assert [by_id[r.media_id] for r in media.records(dataset, samples, chosen)] == want


def test_a_large_part_is_read_in_chunks(store: Any, jura: dict[str, Any]) -> None:
    media = store.site_media()
    item = _item("jura", "4", jura["big"], ctype="image/jpeg", name="4.jpg")
    media.add([item])
    blob = media.open(item.record.media_id, "file")
    chunks = list(blob.chunks())
    assert len(chunks) == -(-len(jura["big"]) // CHUNK_BYTES) >= 3
    assert all(len(c) <= CHUNK_BYTES for c in chunks)
    assert b"".join(chunks) == jura["big"]
    assert blob.size == len(jura["big"])


def test_a_failed_add_stores_nothing(store: Any, jura: dict[str, Any], tmp_path: Path) -> None:
    media = store.site_media()
    good = _item("jura", "2", jura["photo"])
    bad = _item("jura", "3", jura["png"])
    bad.parts["file"] = tmp_path / "gone.png"  # a file that vanished before the write
    with pytest.raises(Exception, match=r"gone\.png|No such file"):
        media.add([good, bad])
    assert media.records() == []
    assert media.open(good.record.media_id, "file") is None
    if not store.location.startswith("postgresql"):
        home = Path(store.location)
        assert not [p for p in (home / "media").rglob("*") if p.is_file()]
        assert not list((home / "tmp").glob("media-*"))
    assert media.add([good]) == [good.record.media_id]  # still usable


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["media-before-rename", "media-before-commit"])
def test_a_killed_add_leaves_the_store_as_it_was(
    store_location: str, data_dir: Path, boundaries: Path, tmp_path: Path, fault: str
) -> None:
    """``chemearth media add`` killed (SIGKILL) at a point of its write: nothing is
    attached, and the next add works (and sweeps what the killed one left)."""
    import warnings

    from tests.web.site_media import media_file

    from chemearth.errors import ChemearthWarning
    from chemearth.ingest import ingest, load_descriptor, shipped_descriptor

    if fault == "media-before-rename" and store_location.startswith("postgresql"):
        pytest.skip("the server store writes in one transaction: there is no rename")
    store = open_store(store_location)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChemearthWarning)
        ingest(store, load_descriptor(shipped_descriptor("jura")), data_dir=data_dir,
               boundaries=boundaries)
    files = []
    for sample, kind in (("2", "photo"), ("3", "video")):
        path = tmp_path / f"{sample}.{'mp4' if kind == 'video' else 'jpg'}"
        path.write_bytes(media_file(store, "jura", sample, kind))
        files.append(str(path))
    flag = tmp_path / "reached"
    env = {**os.environ, "CHEMEARTH_STORE": store_location, "CHEMEARTH_FAULT": fault,
           "CHEMEARTH_FAULT_FLAG": str(flag)}
    proc = subprocess.Popen([CHEMEARTH, "media", "add", "jura", *files], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while not flag.exists():
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the add never reached the fault point"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    store.close()
    store = open_store(store_location)
    assert store.site_media().records() == []
    done = subprocess.run([CHEMEARTH, "media", "add", "jura", *files],
                          env={**os.environ, "CHEMEARTH_STORE": store_location},
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert [r.sample_id for r in store.site_media().records("jura")] == ["2", "3"]
    if not store_location.startswith("postgresql"):
        folders = sorted(p.name for p in (Path(store_location) / "media").glob("*/*"))
        assert folders == sorted(r.media_id for r in store.site_media().records())
    store.close()
