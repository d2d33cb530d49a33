"""Photos and videos of sampling sites, behind the sharing rules.

A photo's GPS position, or a video of a site, tells where a sample was taken, so media
follow the samples' rule: an actor sees a dataset's media when
:func:`~chemearth.access.policy.allowed` ``(actor, "view-samples", dataset)`` says so
(everyone for a public dataset; full access for aggregated and restricted ones). A
restricted dataset answers exactly as a dataset that does not exist; the media list of an
aggregated dataset is refused (403) to those without full access, and one of its media
ids answers exactly as a media id that does not exist (404). Attaching and removing
media is ``attach-media``: data owners with full access, and administrators.

Media belong to a dataset and a sample id, not to a version. A new version keeps them;
only media of samples the latest version still holds are listed and served (the others
are kept, and shown again if a later version brings their sample back).

An upload (:func:`attach_media`) is all or nothing: every file is recognised by its
content (:func:`chemearth.render.media.inspect_media`), checked against its size limit
(:class:`MediaRules`) and matched to a sample of the dataset (by the manifest, else by its
name without the extension) before anything is stored; one bad file refuses the whole
upload with a message naming each bad file and why. The position recorded in a file
(EXIF GPS, a video's location tag) is compared with its sample's location along the
WGS 84 ellipsoid; beyond :attr:`MediaRules.warn_beyond_m` the item is stored with a
warning, which the answer repeats.

Examples
--------
>>> parse_manifest("m.csv", b"file,sample_id\\n2.jpg,2\\nsite 3.mp4,3\\n")
{'2.jpg': '2', 'site 3.mp4': '3'}
>>> parse_manifest("m.json", b'{"a.jpg": "17"}')
{'a.jpg': '17'}
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import Any

from chemearth.access.catalogue import Catalogue
from chemearth.access.policy import Action, Actor, Policy, Resource, allowed
from chemearth.errors import AccessDenied, InputTooLargeError, NotFoundError
from chemearth.render.media import MediaError, inspect_media, kind_of, sniff
from chemearth.store.media import (
    MEDIA_PARTS,
    MediaBlob,
    MediaRecord,
    NewMedia,
    check_media_id,
    media_id,
)

__all__ = [
    "MAX_MANIFEST_BYTES",
    "MediaRules",
    "Upload",
    "attach_media",
    "check_attach",
    "detach_media",
    "list_media",
    "may_attach",
    "media_part",
    "media_visible",
    "parse_manifest",
    "public_record",
]

#: Largest manifest accepted, in bytes.
MAX_MANIFEST_BYTES = 1 << 20
_MB = 1 << 20


@dataclass(frozen=True)
class MediaRules:
    """Limits of media uploads.

    Attributes
    ----------
    image_max_bytes, video_max_bytes : int
        Largest image and video file accepted.
    max_files : int
        Most files in one upload.
    warn_beyond_m : float
        Distance between a file's recorded position and its sample beyond which the
        item is stored with a warning.
    thumbnail_px : int
        Longest side of a thumbnail.
    """

    image_max_bytes: int = 20 * _MB
    video_max_bytes: int = 200 * _MB
    max_files: int = 100
    warn_beyond_m: float = 500.0
    thumbnail_px: int = 320

    def limit(self, kind: str) -> int:
        """The size limit of ``kind`` (``image`` or ``video``)."""
        return self.video_max_bytes if kind == "video" else self.image_max_bytes

    @property
    def largest(self) -> int:
        """The largest file any kind may be."""
        return max(self.image_max_bytes, self.video_max_bytes)


@dataclass(frozen=True)
class Upload:
    """One file given to :func:`attach_media`: the name its sender gave it, and where it
    is now."""

    name: str
    path: Path


# ---------------------------------------------------------------------------- permission


def may_attach(cat: Catalogue, actor: Actor, dataset_id: str) -> bool:
    """True if ``actor`` may attach media to (and remove media of) a dataset it sees."""
    pol = cat.snapshot().policies.get(dataset_id)
    return pol is not None and pol.visible(actor) and allowed(
        actor, Action.ATTACH_MEDIA, Resource.of(pol))


def media_visible(cat: Catalogue, actor: Actor, dataset_id: str) -> bool:
    """True if ``actor`` may see the media of a dataset (as its samples)."""
    pol = cat.snapshot().policies.get(dataset_id)
    return pol is not None and allowed(actor, Action.VIEW_SAMPLES, Resource.of(pol))


def _viewing(cat: Catalogue, actor: Actor, dataset_id: str) -> Policy:
    """The dataset's policy when ``actor`` may see its media; else the dataset's 404
    (restricted) or a 403 (aggregated)."""
    pol = cat.policy(actor, dataset_id)
    if not allowed(actor, Action.VIEW_SAMPLES, Resource.of(pol)):
        raise AccessDenied(
            f"the photos and videos of dataset {dataset_id!r} show where its samples were "
            "taken: they are shared with full access to the dataset only")
    return pol


def check_attach(cat: Catalogue, actor: Actor, dataset_id: str) -> Policy:
    """The dataset's policy when ``actor`` may attach media to it; else the dataset's 404
    (restricted) or a 403."""
    pol = cat.policy(actor, dataset_id)
    if not allowed(actor, Action.ATTACH_MEDIA, Resource.of(pol)):
        raise AccessDenied(
            f"attaching or removing photos and videos of dataset {dataset_id!r} needs a "
            "token of one of its data owners or of an administrator")
    return pol


def _sites(cat: Catalogue, dataset_id: str) -> dict[str, tuple[float, float]]:
    """Sample id -> (longitude, latitude) of the dataset's latest version (NaN without a
    location), computed once per catalogue snapshot."""

    def make() -> dict[str, tuple[float, float]]:
        frame = cat.store.samples(dataset_id)
        return {str(s): (float(lon), float(lat)) for s, lon, lat in zip(
            frame["sample_id"], frame["longitude"], frame["latitude"], strict=True)}

    out: dict[str, tuple[float, float]] = cat.memo(("media-sites", dataset_id), make)
    return out


# ---------------------------------------------------------------------------- reading


def public_record(rec: MediaRecord) -> dict[str, Any]:
    """What the API says of a media item (to those who may see it)."""
    gps = None
    if rec.gps_longitude is not None and rec.gps_latitude is not None:
        gps = {"longitude": rec.gps_longitude, "latitude": rec.gps_latitude}
    return {
        "media_id": rec.media_id, "dataset": rec.dataset_id, "sample_id": rec.sample_id,
        "kind": rec.kind, "content_type": rec.content_type, "file_name": rec.file_name,
        "size": rec.size, "width": rec.width, "height": rec.height,
        "duration_s": rec.duration_s, "gps": gps,
        "distance_m": None if rec.distance_m is None else round(rec.distance_m, 1),
        "warning": rec.warning, "created_at": rec.created_at.isoformat(),
    }


def list_media(cat: Catalogue, actor: Actor, dataset_id: str,
               sample_id: str | None = None) -> list[dict[str, Any]]:
    """The media of a dataset (of one sample) that ``actor`` may see.

    Raises
    ------
    NotFoundError
        The dataset does not exist or is restricted (one answer for both).
    AccessDenied
        The actor may not see the dataset's samples (an aggregated dataset).
    """
    _viewing(cat, actor, dataset_id)
    sites = _sites(cat, dataset_id)
    recs = cat.store.site_media().records(
        dataset_id, sample_ids=None if sample_id is None else [sample_id])
    return [public_record(r) for r in recs if r.sample_id in sites]


def media_part(cat: Catalogue, actor: Actor, dataset_id: str, mid: str,
               part: str = "file") -> tuple[MediaRecord, MediaBlob]:
    """One part (``file``, ``thumbnail``, ``poster``) of a media item ``actor`` may see.

    Raises
    ------
    NotFoundError
        The dataset does not exist or is restricted; or the media id does not exist, is
        of another dataset, of a sample the latest version does not hold, or of a dataset
        whose media ``actor`` may not see (one answer for all of these); or the item has
        no such part (an image has no poster).
    """
    pol = cat.policy(actor, dataset_id)
    missing = NotFoundError(f"media {mid[:64]!r} not found")
    if not check_media_id(mid) or not allowed(actor, Action.VIEW_SAMPLES, Resource.of(pol)):
        raise missing
    media = cat.store.site_media()
    rec = media.record(mid)
    if rec is None or rec.dataset_id != dataset_id or rec.sample_id not in _sites(
            cat, dataset_id):
        raise missing
    blob = media.open(mid, part) if part in MEDIA_PARTS else None
    if blob is None:
        raise NotFoundError(f"media {mid!r} has no {part}")
    return rec, blob


# ---------------------------------------------------------------------------- writing


def parse_manifest(name: str, data: bytes) -> dict[str, str]:
    """File name -> sample id, from a CSV (columns ``file`` and ``sample_id``) or JSON
    (an object of file names, or a list of ``{"file": …, "sample_id": …}``) manifest.

    Raises
    ------
    MediaError
        The manifest cannot be read; the message says why.
    """
    if len(data) > MAX_MANIFEST_BYTES:
        raise InputTooLargeError(f"manifest {name}: larger than {MAX_MANIFEST_BYTES:,} bytes")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise MediaError(f"manifest {name}: not UTF-8 text") from None
    rows: list[tuple[Any, Any]]
    if text.lstrip().startswith(("{", "[")):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MediaError(f"manifest {name}: invalid JSON ({exc.msg}, line {exc.lineno})"
                             ) from None
        if isinstance(doc, dict):
            rows = list(doc.items())
        else:
            rows = [(d.get("file"), d.get("sample_id")) if isinstance(d, dict) else (None, None)
                    for d in doc]
    else:
        rows = _csv_rows(name, text)
    out: dict[str, str] = {}
    for i, (file, sample) in enumerate(rows, start=1):
        if not isinstance(file, str) or not file.strip() or sample is None or isinstance(
                sample, (dict, list, bool)) or not str(sample).strip():
            raise MediaError(f"manifest {name}: entry {i} needs a file name and a sample id")
        key = PurePath(file.strip().replace("\\", "/")).name
        if key in out:
            raise MediaError(f"manifest {name}: {key} is listed twice")
        out[key] = str(sample).strip()
    return out


def _csv_rows(name: str, text: str) -> list[tuple[Any, Any]]:
    try:
        reader = csv.DictReader(io.StringIO(text))
        fields = {f.strip().lower(): f for f in reader.fieldnames or []}
        if "file" not in fields or "sample_id" not in fields:
            raise MediaError(f"manifest {name}: a CSV manifest needs the columns file and "
                             f"sample_id (found {', '.join(fields)[:200] or 'none'})")
        return [(r.get(fields["file"]), r.get(fields["sample_id"])) for r in reader]
    except csv.Error as exc:
        raise MediaError(f"manifest {name}: not a readable CSV file ({exc})") from None


def attach_media(cat: Catalogue, actor: Actor, dataset_id: str, files: Sequence[Upload],
                 manifest: Mapping[str, str] | None = None,
                 rules: MediaRules | None = None) -> dict[str, Any]:
    """Attach photos and videos to samples of a dataset, all or nothing.

    Each file goes to the sample the ``manifest`` names for it, else to the sample whose
    id is the file's name without its extension.

    Returns
    -------
    dict
        ``dataset``, ``attached`` (one :func:`public_record` per file, with ``new``: false
        when the same file was attached to the same sample before) and ``warnings``.

    Raises
    ------
    NotFoundError
        The dataset does not exist or is restricted (one answer for both).
    AccessDenied
        The actor may not attach media to the dataset.
    InputTooLargeError
        A file is over its size limit (and nothing was stored).
    MediaError
        A file is not a photo or video taken, cannot be decoded, or names no sample of
        the dataset (and nothing was stored); the message lists every bad file.
    """
    rules = rules or MediaRules()
    check_attach(cat, actor, dataset_id)
    if not files:
        raise MediaError("no file given: attach at least one photo or video")
    if len(files) > rules.max_files:
        raise MediaError(f"{len(files)} files given; at most {rules.max_files} per upload")
    names = [PurePath(f.name.replace("\\", "/")).name for f in files]
    problems = [f"{n}: given twice" for n in sorted({n for n in names if names.count(n) > 1})]
    manifest = dict(manifest or {})
    problems += [f"the manifest names {n}, which was not uploaded"
                 for n in sorted(set(manifest) - set(names))]
    sites = _sites(cat, dataset_id)
    too_large: list[str] = []
    items: dict[str, NewMedia] = {}
    for name, up in zip(names, files, strict=True):
        sample = manifest.get(name, PurePath(name).stem)
        item = _item(cat, actor, dataset_id, name, up.path, sample, sites, rules,
                     problems, too_large)
        if item is not None:
            items.setdefault(item.record.media_id, item)
    if too_large or problems:
        error = InputTooLargeError if too_large else MediaError
        listed = too_large + problems
        raise error(f"{len(listed)} of {len(files)} files refused, nothing was attached: "
                    + "; ".join(listed))
    media = cat.store.site_media()
    stored = set(media.add(list(items.values())))
    before = {r.media_id: r for r in media.records(media_ids=set(items) - stored)}
    records = [before.get(mid, it.record) for mid, it in items.items()]  # as first attached
    return {"dataset": dataset_id,
            "attached": [public_record(r) | {"new": r.media_id in stored} for r in records],
            "warnings": [r.warning for r in records if r.warning]}


def _item(cat: Catalogue, actor: Actor, dataset_id: str, name: str, path: Path, sample: str,
          sites: Mapping[str, tuple[float, float]], rules: MediaRules, problems: list[str],
          too_large: list[str]) -> NewMedia | None:
    """One file checked and described (None, with its problem noted, if it is refused)."""
    with path.open("rb") as fh:
        head = fh.read(64)
    ctype = sniff(head)
    size = path.stat().st_size
    if ctype is not None and size > rules.limit(kind_of(ctype)):
        kind = kind_of(ctype)
        too_large.append(f"{name}: {size:,} bytes, over the limit of {rules.limit(kind):,} "
                         f"bytes for {'an' if kind == 'image' else 'a'} {kind}")
        return None
    if sample not in sites:
        problems.append(f"{name}: sample {sample!r} is not in dataset {dataset_id!r}")
        return None
    try:
        info = inspect_media(path, name, rules.thumbnail_px)
    except MediaError as exc:
        problems.append(str(exc))
        return None
    digest = hashlib.sha256()

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
                yield chunk

    mid = media_id(dataset_id, sample, chunks())
    distance, warning = _distance(name, sample, sites[sample], info.longitude, info.latitude,
                                  rules.warn_beyond_m)
    record = MediaRecord(
        media_id=mid, dataset_id=dataset_id, sample_id=sample, kind=info.kind,
        content_type=info.content_type, file_name=name, size=size,
        sha256=digest.hexdigest(), width=info.width, height=info.height,
        duration_s=info.duration_s, gps_longitude=info.longitude, gps_latitude=info.latitude,
        distance_m=distance, warning=warning, actor=actor.name,
        organisation=actor.organisation)
    parts: dict[str, Path | bytes] = {"file": path, "thumbnail": info.thumbnail}
    if info.poster is not None:
        parts["poster"] = info.poster
    return NewMedia(record, parts)


def _distance(name: str, sample: str, site: tuple[float, float], lon: float | None,
              lat: float | None, beyond_m: float) -> tuple[float | None, str]:
    """Geodesic distance (WGS 84) from the sample to the recorded position, and the
    warning when it is over ``beyond_m``."""
    if lon is None or lat is None or not all(math.isfinite(v) for v in site):
        return None, ""
    from pyproj import Geod

    _, _, dist = Geod(ellps="WGS84").inv(site[0], site[1], lon, lat)
    dist = float(dist)
    if dist <= beyond_m:
        return dist, ""
    return dist, (f"{name}: the position recorded in the file is {dist:,.0f} m from sample "
                  f"{sample!r} (more than {beyond_m:,.0f} m): is it the right sample?")


# ---------------------------------------------------------------------------- removing


def detach_media(cat: Catalogue, actor: Actor, dataset_id: str, mid: str) -> None:
    """Remove a media item of a dataset.

    Raises
    ------
    NotFoundError
        The dataset does not exist or is restricted, or it has no such media item.
    AccessDenied
        The actor may not remove media of the dataset.
    """
    check_attach(cat, actor, dataset_id)
    media = cat.store.site_media()
    rec = media.record(mid) if check_media_id(mid) else None
    if rec is None or rec.dataset_id != dataset_id:
        raise NotFoundError(f"media {mid[:64]!r} not found")
    media.delete([mid])
