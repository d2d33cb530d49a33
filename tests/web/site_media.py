"""Photos and videos of real sampling sites for the media tests, made from the real data.

No binary fixture is kept: a *site photo* is a map of a survey's real sample points around
one sample, drawn with Pillow, the sample marked, with an EXIF GPS position (the sample's
own, or one moved away from it with :func:`moved`); a *site video* is a short H.264 MP4
(PyAV) zooming in on the sample, with an ISO 6709 location tag. The same arguments give
the same bytes (the results are cached), so both store backends get the same media ids.

:func:`attach_site_media` attaches the secure store's media (``tests/web/conftest.py``):
a photo of a sample of each survey (Jura public, Kola humus aggregated, the restricted
Meuse survey) and a video of a Jura sample.
"""

from __future__ import annotations

import functools
import io
import tempfile
from pathlib import Path
from typing import Any

#: The samples the secure store's media show: (dataset, sample id, kind).
SECURE_MEDIA = (("jura", "2", "photo"), ("jura", "40", "video"), ("kola-humus", "1", "photo"),
                ("secret-meuse", "2", "photo"))


def moved(lon: float, lat: float, metres: float, azimuth: float = 90.0) -> tuple[float, float]:
    """The point ``metres`` away from (lon, lat) towards ``azimuth`` (degrees from north),
    along the WGS 84 ellipsoid."""
    from pyproj import Geod

    lon2, lat2, _ = Geod(ellps="WGS84").fwd(lon, lat, azimuth, metres)
    return float(lon2), float(lat2)


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    deg = int(value)
    minutes = int((value - deg) * 60)
    seconds = round((value - deg - minutes / 60) * 3600, 4)
    return float(deg), float(minutes), seconds


def _site_map(points: tuple[tuple[float, float], ...], site: tuple[float, float],
              size: tuple[int, int], span_deg: float) -> Any:
    """The sample points within ``span_deg`` of the site, drawn on a gradient."""
    from PIL import Image, ImageDraw

    w, h = size
    img = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    img = Image.merge("RGB", (img.getchannel(0).point(lambda v: 60 + v // 3),
                              img.getchannel(1).point(lambda v: 110 + v // 4),
                              img.getchannel(2).point(lambda v: 70)))
    draw = ImageDraw.Draw(img)
    lon0, lat0 = site

    def px(lon: float, lat: float) -> tuple[float, float]:
        return ((lon - lon0) / span_deg * w / 2 + w / 2, (lat0 - lat) / span_deg * h / 2 + h / 2)

    for lon, lat in points:
        x, y = px(lon, lat)
        if 0 <= x < w and 0 <= y < h:
            draw.ellipse((x - 3, y - 3, x + 3, y + 3), fill=(250, 240, 200))
    x, y = px(lon0, lat0)
    draw.ellipse((x - 9, y - 9, x + 9, y + 9), outline=(220, 30, 30), width=4)
    return img


@functools.cache
def site_photo(points: tuple[tuple[float, float], ...], site: tuple[float, float],
               gps: tuple[float, float] | None, fmt: str = "JPEG",
               size: tuple[int, int] = (800, 600)) -> bytes:
    """A photo of the site (a map of the real sample points around it) with an EXIF GPS
    position ``gps`` (lon, lat), or none."""
    from PIL import Image

    img = _site_map(points, site, size, span_deg=0.02)
    exif = Image.Exif()
    if gps is not None:
        lon, lat = gps
        exif.get_ifd(0x8825).update({1: "N" if lat >= 0 else "S", 2: _dms(lat),
                                     3: "E" if lon >= 0 else "W", 4: _dms(lon)})
    buf = io.BytesIO()
    img.save(buf, fmt, exif=exif, **({"quality": 88} if fmt == "JPEG" else {}))
    return buf.getvalue()


@functools.cache
def site_video(points: tuple[tuple[float, float], ...], site: tuple[float, float],
               gps: tuple[float, float] | None, frames: int = 24) -> bytes:
    """An MP4 (H.264, 12 frames a second) zooming in on the site, located at ``gps``."""
    import av
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "site.mp4"
        with av.open(str(path), "w", format="mp4", options={"movflags": "faststart"}) as out:
            if gps is not None:
                out.metadata["location"] = f"{gps[1]:+08.4f}{gps[0]:+09.4f}/"
            stream = out.add_stream("libx264", rate=12, options={"threads": "1"})
            stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
            for i in range(frames):
                img = _site_map(points, site, (320, 240), span_deg=0.08 / (1 + i / 4))
                frame = av.VideoFrame.from_ndarray(np.asarray(img), format="rgb24")
                for packet in stream.encode(frame):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
        return path.read_bytes()


def points_of(store: Any, dataset: str) -> tuple[tuple[float, float], ...]:
    """The located samples of a dataset, as (lon, lat) pairs."""
    frame = store.samples(dataset).dropna(subset=["longitude", "latitude"])
    return tuple(zip(frame["longitude"].round(6), frame["latitude"].round(6), strict=True))


def site_of(store: Any, dataset: str, sample_id: str) -> tuple[float, float]:
    """(lon, lat) of one sample."""
    frame = store.samples(dataset)
    row = frame[frame["sample_id"].astype(str) == sample_id].iloc[0]
    return round(float(row["longitude"]), 6), round(float(row["latitude"]), 6)


def media_file(store: Any, dataset: str, sample_id: str, kind: str = "photo",
               away_m: float = 0.0, fmt: str = "JPEG") -> bytes:
    """A photo (``fmt``) or video of a sample, its position ``away_m`` metres east of it."""
    points = points_of(store, dataset)
    site = site_of(store, dataset, sample_id)
    gps = moved(*site, away_m) if away_m else site
    if kind == "video":
        return site_video(points, site, gps)
    return site_photo(points, site, gps, fmt)


def attach_site_media(gateway: Any, store: Any) -> dict[str, list[str]]:
    """Attach :data:`SECURE_MEDIA` as an administrator; dataset -> media ids."""
    from chemearth.access.media import Upload, attach_media
    from chemearth.access.policy import Actor, Role

    admin = Actor("media-fixture", Role.ADMIN)
    out: dict[str, list[str]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for dataset, sample, kind in SECURE_MEDIA:
            name = f"{sample}.{'mp4' if kind == 'video' else 'jpg'}"
            path = Path(tmp) / dataset / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(media_file(store, dataset, sample, kind))
            answer = attach_media(gateway, admin, dataset, [Upload(name, path)])
            out.setdefault(dataset, []).extend(a["media_id"] for a in answer["attached"])
    return out
