"""Photos and videos of sampling sites through the API: upload, list, files, thumbnails.

Over a copy of the secure store (``tests/web/conftest.py``: Jura public, Kola humus
aggregated, the Meuse survey restricted, each with a site photo attached), so what these
tests attach is seen by no other test. Every file is made from the real data
(``tests/web/site_media.py``): a map of a survey's sample points around a sample, with its
GPS position at the sample or 5 km away, and a short MP4 of it.
"""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from tests.web.conftest import ACTORS, AGGREGATED, FULL_ACCESS, PUBLIC, SECRET
from tests.web.site_media import media_file

MISSING_DS = "nonexistent-survey"
MISSING_MEDIA = "0" * 20
#: who may attach media to (and remove media of) each dataset
ATTACHERS = {PUBLIC: {"admin"}, AGGREGATED: {"owner", "admin"}, SECRET: {"owner", "admin"}}


@pytest.fixture(scope="module")
def site(secure_store: Any, boundaries: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A copy of the secure store, its website, and helpers."""
    from fastapi.testclient import TestClient

    from chemearth.access.media import MediaRules
    from chemearth.store import open_store
    from chemearth.web import WebSettings, create_app

    home = tmp_path_factory.mktemp("media-store") / "store"
    shutil.copytree(secure_store.home, home)
    store = open_store(home)

    class Site:
        def __init__(self) -> None:
            self.store, self.home = store, home
            self.client = TestClient(create_app(store, WebSettings(
                boundaries=boundaries, timeout_s=120, auth_failures=0)))
            # the same site with small limits: 20 kB images, 40 kB videos
            self.small = TestClient(create_app(store, WebSettings(
                boundaries=boundaries, timeout_s=120, auth_failures=0,
                media=MediaRules(image_max_bytes=20_000, video_max_bytes=40_000))))

        def headers(self, actor: str) -> dict[str, str]:
            return secure_store.headers(actor)

        def state(self) -> tuple[list[str], list[str]]:
            """The media records and the files under the store's media folder."""
            ids = sorted(r.media_id for r in store.site_media().records())
            files = sorted(str(p.relative_to(home)) for p in (home / "media").rglob("*")
                           if p.is_file())
            return ids, files

    yield Site()
    store.close()


def _post(client: Any, ds: str, files: list[tuple[str, bytes]], headers: dict[str, str],
          manifest: tuple[str, bytes] | None = None) -> Any:
    parts = [("files", (name, data)) for name, data in files]
    if manifest is not None:
        parts.append(("manifest", manifest))
    return client.post(f"/api/datasets/{ds}/media", files=parts, headers=headers)


def _gps(jpeg: bytes) -> dict[int, Any]:
    from PIL import Image

    return dict(Image.open(io.BytesIO(jpeg)).getexif().get_ifd(0x8825))


# ---------------------------------------------------------------------------- upload


def test_upload_list_file_and_thumbnail(site: Any) -> None:
    """Two photos of Kola humus sites by NGU's data owner: one taken at its sample, one
    5 km away (a warning); the list, the file as uploaded and a thumbnail without GPS."""
    owner = site.headers("owner")
    near = media_file(site.store, AGGREGATED, "10")
    far = media_file(site.store, AGGREGATED, "11", away_m=5000)
    r = _post(site.client, AGGREGATED, [("10.jpg", near), ("11.jpg", far)], owner)
    assert r.status_code == 201, r.text
    body = r.json()
    by_sample = {m["sample_id"]: m for m in body["attached"]}
    assert set(by_sample) == {"10", "11"}
    assert by_sample["10"]["distance_m"] < 1
    assert by_sample["10"]["warning"] == ""
    assert by_sample["11"]["distance_m"] == pytest.approx(5000, abs=1)
    assert body["warnings"] == [by_sample["11"]["warning"]]
    assert "11.jpg" in body["warnings"][0]
    assert "5,000 m" in body["warnings"][0]
    listed = site.client.get(f"/api/datasets/{AGGREGATED}/media", params={"sample": "11"},
                             headers=owner).json()
    assert [m["media_id"] for m in listed["media"]] == [by_sample["11"]["media_id"]]
    item = listed["media"][0]
    assert item["warning"] == by_sample["11"]["warning"]  # stored with the item
    assert (item["kind"], item["content_type"], item["width"], item["height"]) == (
        "image", "image/jpeg", 800, 600)
    f = site.client.get(item["url"], headers=owner)
    assert (f.status_code, f.headers["content-type"], f.content) == (200, "image/jpeg", far)
    assert f.headers["x-content-type-options"] == "nosniff"
    assert _gps(f.content)  # the file as uploaded, for those who may see the sample
    th = site.client.get(item["thumbnail_url"], headers=owner)
    assert (th.status_code, th.headers["content-type"]) == (200, "image/jpeg")
    assert th.headers["x-content-type-options"] == "nosniff"
    from PIL import Image

    img = Image.open(io.BytesIO(th.content))
    assert (img.format, max(img.size)) == ("JPEG", 320)
    assert _gps(th.content) == {}
    assert not img.getexif()
    assert site.client.get(item["url"] + "/poster", headers=owner).status_code == 404


def test_a_video_gets_a_poster_frame(site: Any) -> None:
    admin = site.headers("admin")
    video = media_file(site.store, PUBLIC, "20", "video")
    r = _post(site.client, PUBLIC, [("20.mp4", video)], admin)
    assert r.status_code == 201, r.text
    item = r.json()["attached"][0]
    assert (item["kind"], item["content_type"]) == ("video", "video/mp4")
    assert item["duration_s"] == pytest.approx(2.0)
    assert item["distance_m"] < 20  # the ISO 6709 location tag, rounded to 1e-4 degrees
    poster = site.client.get(item["poster_url"])  # Jura is public: anonymous sees it
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/jpeg")
    from PIL import Image

    assert Image.open(io.BytesIO(poster.content)).size == (320, 240)
    f = site.client.get(item["url"])
    assert (f.headers["content-type"], f.content) == ("video/mp4", video)
    # the same file again for the same sample: nothing new
    again = _post(site.client, PUBLIC, [("20.mp4", video)], admin).json()
    assert [(m["media_id"], m["new"]) for m in again["attached"]] == [(item["media_id"], False)]


def test_a_manifest_maps_files_to_samples(site: Any) -> None:
    admin = site.headers("admin")
    a = media_file(site.store, PUBLIC, "30")
    b = media_file(site.store, PUBLIC, "31", fmt="WEBP")
    csv = b"file,sample_id\nridge.jpg,30\nfield/valley.webp,31\n"
    r = _post(site.client, PUBLIC, [("ridge.jpg", a), ("valley.webp", b)], admin,
              ("manifest.csv", csv))
    assert r.status_code == 201, r.text
    got = {m["file_name"]: (m["sample_id"], m["content_type"]) for m in r.json()["attached"]}
    assert got == {"ridge.jpg": ("30", "image/jpeg"), "valley.webp": ("31", "image/webp")}
    c = media_file(site.store, PUBLIC, "32", fmt="PNG")  # PNG: no GPS written
    r = _post(site.client, PUBLIC, [("c.png", c)], admin,
              ("m.json", json.dumps([{"file": "c.png", "sample_id": "32"}]).encode()))
    assert r.status_code == 201, r.text
    item = r.json()["attached"][0]
    assert (item["sample_id"], item["gps"], item["distance_m"], item["warning"]) == (
        "32", None, None, "")


def _bad_cases(store: Any, data_dir: Path) -> dict[str, tuple[Any, ...]]:
    """name -> (files, manifest, status, words the answer must hold, small limits)."""
    photo = media_file(store, PUBLIC, "40")
    png = media_file(store, PUBLIC, "41", fmt="PNG")
    video = media_file(store, PUBLIC, "42", "video")
    survey = (data_dir / "jura" / "jura_pred_val.csv").read_bytes()
    return {
        "a survey file named as a photo": ([("40.jpg", survey)], None, 422,
                                           ["40.jpg", "not a JPEG, PNG or WebP image"]),
        "a truncated PNG": ([("41.png", png[:1500])], None, 422,
                            ["41.png", "PNG image cannot be decoded"]),
        "a truncated video": ([("42.mp4", video[:600])], None, 422,
                              ["42.mp4", "MP4 video cannot be decoded"]),
        "a JPEG's start on a PNG": ([("41.jpg", photo[:3] + png)], None, 422, ["41.jpg"]),
        "an unknown sample": ([("40.jpg", photo), ("99999.jpg", photo)], None, 422,
                              ["99999.jpg", "sample '99999' is not in dataset 'jura'",
                               "1 of 2 files refused"]),
        "a file given twice": ([("40.jpg", photo), ("40.jpg", photo)], None, 422,
                               ["40.jpg: given twice"]),
        "a manifest naming a missing file": ([("40.jpg", photo)],
                                             ("m.csv", b"file,sample_id\nnone.jpg,40\n"), 422,
                                             ["none.jpg", "not uploaded"]),
        "a manifest without its columns": ([("40.jpg", photo)], ("m.csv", b"a,b\n1,2\n"), 422,
                                           ["manifest m.csv", "file and sample_id"]),
        "an image over its limit": ([("40.jpg", photo), ("41.png", png)], None, 413,
                                    ["40.jpg", "over the limit of 20,000 bytes for an image",
                                     "nothing was attached"], True),
        "a video over its limit": ([("42.mp4", video)], None, 413,
                                   ["42.mp4", "limit of 40,000 bytes"], True),
    }


BAD = ["a survey file named as a photo", "a truncated PNG", "a truncated video",
       "a JPEG's start on a PNG", "an unknown sample", "a file given twice",
       "a manifest naming a missing file", "a manifest without its columns",
       "an image over its limit", "a video over its limit"]


@pytest.mark.parametrize("case", BAD)
def test_a_bad_upload_is_refused_whole_and_stores_nothing(site: Any, data_dir: Path,
                                                          case: str) -> None:
    files, manifest, status, words, *small = _bad_cases(site.store, data_dir)[case]
    before = site.state()
    client = site.small if small else site.client
    r = _post(client, PUBLIC, files, site.headers("admin"), manifest)
    assert r.status_code == status, r.text
    detail = r.json()["detail"]
    for w in words:
        assert w in detail, detail
    assert "/tmp" not in detail
    assert str(site.home) not in detail
    assert site.state() == before
    if status != 413 and "manifest" not in case and "twice" not in case:
        assert "nothing was attached" in detail


# ---------------------------------------------------------------------------- who may


def _expected_post(actor: str, ds: str) -> int:
    if ds == MISSING_DS or (ds == SECRET and actor not in FULL_ACCESS[SECRET]):
        return 404
    return 201 if actor in ATTACHERS[ds] else 403


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("ds", [PUBLIC, AGGREGATED, SECRET, MISSING_DS])
def test_who_may_attach(site: Any, actor: str, ds: str) -> None:
    """Data owners of the dataset's organisation and administrators; a restricted dataset
    answers everyone else exactly as a dataset that does not exist."""
    sample = {PUBLIC: "50", AGGREGATED: "1", SECRET: "5"}.get(ds, "50")
    photo = media_file(site.store, ds if ds != MISSING_DS else PUBLIC, sample)
    before = site.state()
    r = _post(site.client, ds, [(f"{sample}.jpg", photo)], site.headers(actor))
    want = _expected_post(actor, ds)
    assert r.status_code == want, r.text
    if want != 201:
        assert site.state() == before
    if want == 404 and ds == SECRET:
        missing = _post(site.client, MISSING_DS, [(f"{sample}.jpg", photo)],
                        site.headers(actor))
        assert (r.status_code, r.text) == (missing.status_code,
                                           missing.text.replace(MISSING_DS, SECRET))


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("ds", [PUBLIC, AGGREGATED, SECRET])
def test_who_may_see(site: Any, actor: str, ds: str) -> None:
    """Media are seen by whoever sees the dataset's samples: the list of an aggregated
    dataset is refused to others, and its items answer as items that do not exist; a
    restricted dataset answers as one that does not exist."""
    headers = site.headers(actor)
    mid = next(r.media_id for r in site.store.site_media().records(ds))
    lst = site.client.get(f"/api/datasets/{ds}/media", headers=headers)
    urls = [f"/api/datasets/{ds}/media/{mid}", f"/api/datasets/{ds}/media/{mid}/thumbnail"]
    if actor in FULL_ACCESS[ds]:
        assert lst.status_code == 200
        assert mid in {m["media_id"] for m in lst.json()["media"]}
        for url in urls:
            r = site.client.get(url, headers=headers)
            assert (r.status_code, r.headers["content-type"]) == (200, "image/jpeg")
        return
    if ds == SECRET:
        for url in [f"/api/datasets/{ds}/media", *urls]:
            r = site.client.get(url, headers=headers)
            other = site.client.get(url.replace(SECRET, MISSING_DS), headers=headers)
            assert r.status_code == other.status_code == 404
            assert r.text == other.text.replace(MISSING_DS, SECRET)
        return
    assert lst.status_code == 403
    assert "sample_id" not in lst.text
    assert mid not in lst.text
    for url in urls:
        r = site.client.get(url, headers=headers)
        other = site.client.get(url.replace(mid, MISSING_MEDIA), headers=headers)
        assert r.status_code == other.status_code == 404
        assert r.text == other.text.replace(MISSING_MEDIA, mid)
    # another dataset's media id under a dataset one sees is not found either
    jura = next(r.media_id for r in site.store.site_media().records(PUBLIC))
    assert site.client.get(f"/api/datasets/{ds}/media/{jura}",
                           headers=headers).status_code == 404


@pytest.mark.parametrize("actor", list(ACTORS))
@pytest.mark.parametrize("ds", [AGGREGATED, SECRET])
def test_who_may_remove(site: Any, actor: str, ds: str) -> None:
    admin = site.headers("admin")
    photo = media_file(site.store, ds, "2", away_m=len(actor))  # one item per actor
    added = _post(site.client, ds, [("2.jpg", photo)], admin)
    assert added.status_code == 201, added.text
    mid = added.json()["attached"][0]["media_id"]
    r = site.client.delete(f"/api/datasets/{ds}/media/{mid}", headers=site.headers(actor))
    kept = site.store.site_media().record(mid) is not None
    if actor in ATTACHERS[ds]:
        assert (r.status_code, kept) == (204, False)
        gone = site.client.get(f"/api/datasets/{ds}/media/{mid}", headers=admin)
        assert gone.status_code == 404
        again = site.client.delete(f"/api/datasets/{ds}/media/{mid}", headers=admin)
        assert again.status_code == 404
        return
    assert kept
    if ds == SECRET and actor not in FULL_ACCESS[SECRET]:
        other = site.client.delete(f"/api/datasets/{MISSING_DS}/media/{mid}",
                                   headers=site.headers(actor))
        assert (r.status_code, r.text) == (404, other.text.replace(MISSING_DS, SECRET))
    else:
        assert r.status_code == 403, r.text
    site.store.site_media().delete([mid])


def test_a_cross_site_write_with_the_session_cookie_is_refused(site: Any) -> None:
    """The session cookie's writes need this site's Origin (as every write route)."""
    token = site.headers("owner")["Authorization"].split(" ", 1)[1]
    photo = media_file(site.store, AGGREGATED, "12")
    before = site.state()
    site.client.cookies.set("chemearth_token", token)
    try:
        r = site.client.post(f"/api/datasets/{AGGREGATED}/media",
                             files=[("files", ("12.jpg", photo))],
                             headers={"Origin": "https://evil.example"})
        assert r.status_code == 403, r.text
        assert site.state() == before
        ok = site.client.post(f"/api/datasets/{AGGREGATED}/media",
                              files=[("files", ("12.jpg", photo))],
                              headers={"Origin": str(site.client.base_url)})
        assert ok.status_code == 201, ok.text
    finally:
        site.client.cookies.clear()


# ---------------------------------------------------------------------------- pages


@pytest.mark.parametrize(
    ("actor", "ds", "gallery", "form"),
    [("anonymous", PUBLIC, True, False), ("admin", PUBLIC, True, True),
     ("owner", PUBLIC, True, False), ("anonymous", AGGREGATED, False, False),
     ("partner", AGGREGATED, True, False), ("owner", AGGREGATED, True, True),
     ("other-org", AGGREGATED, False, False), ("owner", SECRET, True, True)],
)
def test_the_dataset_page_shows_the_gallery_and_the_form(
    site: Any, actor: str, ds: str, gallery: bool, form: bool
) -> None:
    from chemearth.web.i18n import strings

    for lang in ("en", "zh"):
        r = site.client.get(f"/catalogue/datasets/{ds}", params={"lang": lang},
                            headers=site.headers(actor))
        assert r.status_code == 200
        text = strings(lang)
        assert text["media.title"] in r.text
        ids = [m.media_id for m in site.store.site_media().records(ds)]
        assert ('id="media-gallery"' in r.text) == gallery
        assert all((f'data-media-id="{m}"' in r.text) == gallery for m in ids)
        assert (text["media.hidden"] in r.text) == (not gallery)
        assert ('id="media-upload"' in r.text) == form
        if form:
            assert text["media.upload.title"] in r.text
