"""Photos and videos of sampling sites: what a file is, its thumbnail, poster frame and
GPS position.

A file is recognised by its first bytes, never by its name (:func:`sniff`): JPEG, PNG
and WebP images, MP4, QuickTime (MOV) and WebM videos. :func:`inspect_media` then opens
it with the library that decodes it (Pillow for images, PyAV, FFmpeg's decoders, for
videos), so a file that merely starts like one is refused too. It returns what the store
keeps besides the file: its size in pixels (and duration), a JPEG thumbnail without any
metadata (no EXIF, so no GPS position), for a video a poster frame (its first key
frame, decoded), and the position the camera recorded: EXIF ``GPSInfo`` of an image, the
ISO 6709 ``location`` tag of a video.

Every refusal is a :class:`MediaError` whose message names the file and the reason, and
never a path of the server.

Examples
--------
>>> import io, tempfile
>>> from PIL import Image
>>> folder = Path(tempfile.mkdtemp())
>>> img = Image.linear_gradient("L").resize((640, 480)).convert("RGB")
>>> exif = Image.Exif()
>>> gps = exif.get_ifd(GPS_IFD)
>>> gps.update({1: "N", 2: (47.0, 8.0, 20.66), 3: "E", 4: (6.0, 51.0, 1.49)})
>>> img.save(folder / "2.jpg", exif=exif)
>>> info = inspect_media(folder / "2.jpg", "2.jpg")
>>> info.kind, info.content_type, info.width, info.height
('image', 'image/jpeg', 640, 480)
>>> round(info.latitude, 4), round(info.longitude, 4)
(47.1391, 6.8504)
>>> Image.open(io.BytesIO(info.thumbnail)).size, Image.open(io.BytesIO(info.thumbnail)).format
((320, 240), 'JPEG')
>>> (folder / "x.jpg").write_bytes(b"GIF89a...")
9
>>> try:
...     inspect_media(folder / "x.jpg", "x.jpg")
... except MediaError as exc:
...     print(exc)
x.jpg: not a JPEG, PNG or WebP image nor an MP4, MOV or WebM video
"""

from __future__ import annotations

import io
import math
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chemearth.errors import ChemearthError

__all__ = [
    "CONTENT_TYPES",
    "GPS_IFD",
    "IMAGE_TYPES",
    "VIDEO_TYPES",
    "MediaError",
    "MediaInfo",
    "exif_position",
    "inspect_media",
    "iso6709_position",
    "kind_of",
    "sniff",
]

#: The EXIF tag of the GPS sub-directory (``GPSInfo``).
GPS_IFD = 0x8825
#: Image content types, by Pillow's format name.
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
#: Video content types, and the word FFmpeg's demuxer names the container with.
VIDEO_TYPES = {"video/mp4": "mp4", "video/quicktime": "mov", "video/webm": "webm"}
#: Every content type taken, with the file extension it is served with.
CONTENT_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp",
                 "video/mp4": ".mp4", "video/quicktime": ".mov", "video/webm": ".webm"}
#: ISO base media brands that are images (HEIF, AVIF), not videos.
_IMAGE_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif",
                 b"avis")
#: Packets of a video read at most to find its first key frame.
_MAX_PACKETS = 2_000
#: Longest side of a poster frame, in pixels.
POSTER_PX = 1280
_NAMES = "a JPEG, PNG or WebP image nor an MP4, MOV or WebM video"


class MediaError(ChemearthError, ValueError):
    """A photo or video is refused: the message names the file and the reason."""


@dataclass(frozen=True)
class MediaInfo:
    """What :func:`inspect_media` found in a file."""

    kind: str  # "image" or "video"
    content_type: str
    width: int
    height: int
    duration_s: float | None
    longitude: float | None
    latitude: float | None
    thumbnail: bytes  # JPEG, no metadata
    poster: bytes | None = None  # JPEG of the first key frame (videos)


def sniff(head: bytes) -> str | None:
    """The content type the first bytes of a file announce (None: none chemearth takes).

    Examples
    --------
    >>> sniff(b"\\xff\\xd8\\xff\\xe0\\x00\\x10JFIF"), sniff(b"RIFF\\x00\\x00\\x00\\x00WEBPVP8 ")
    ('image/jpeg', 'image/webp')
    >>> sniff(b"\\x00\\x00\\x00\\x14ftypqt  "), sniff(b"\\x00\\x00\\x00\\x18ftypheic")
    ('video/quicktime', None)
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _IMAGE_BRANDS:
            return None
        return "video/quicktime" if brand == b"qt  " else "video/mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"webm" in head[:64]:
        return "video/webm"
    return None


def kind_of(content_type: str) -> str:
    """``"image"`` or ``"video"``."""
    return "video" if content_type.startswith("video/") else "image"


def inspect_media(path: Path, name: str, thumbnail_px: int = 320) -> MediaInfo:
    """Recognise, decode and describe the photo or video at ``path`` (called ``name``).

    Raises
    ------
    MediaError
        The file is not a JPEG, PNG or WebP image or an MP4, MOV or WebM video, or it
        cannot be decoded (truncated, corrupt, no video stream, too many pixels).
    """
    with Path(path).open("rb") as fh:
        head = fh.read(64)
    ctype = sniff(head)
    if ctype is None:
        raise MediaError(f"{name}: not {_NAMES}")
    if kind_of(ctype) == "image":
        return _image(Path(path), name, ctype, thumbnail_px)
    return _video(Path(path), name, ctype, thumbnail_px)


# ------------------------------------------------------------------ images


def _image(path: Path, name: str, ctype: str, px: int) -> MediaInfo:
    from PIL import Image, UnidentifiedImageError

    label = ctype.split("/")[1].upper()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                if IMAGE_TYPES.get(str(img.format)) != ctype:
                    raise MediaError(f"{name}: starts as a {label} image but is "
                                     f"{img.format or 'something else'}")
                img.load()
                exif = img.getexif()
                position = exif_position(exif)
                width, height = img.size
                thumb = _jpeg(_oriented(img), px)
    except MediaError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MediaError(f"{name}: the image has too many pixels to be opened safely "
                         f"(more than {Image.MAX_IMAGE_PIXELS:,})") from None
    except UnidentifiedImageError:
        raise MediaError(f"{name}: not a readable {label} image") from None
    except Exception as exc:  # Pillow's decoders raise OSError, ValueError, SyntaxError…
        raise MediaError(f"{name}: the {label} image cannot be decoded "
                         f"({_reason(exc, path)})") from None
    lon, lat = position if position is not None else (None, None)
    return MediaInfo("image", ctype, width, height, None, lon, lat, thumb)


def _oriented(img: Any) -> Any:
    """The image turned as its EXIF orientation says (a camera held upright)."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(img) or img


def _jpeg(img: Any, px: int, quality: int = 85) -> bytes:
    """``img`` scaled to fit ``px`` × ``px``, as a JPEG without metadata."""
    from PIL import Image

    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        img = flat
    else:
        img = img.convert("RGB")
    img.thumbnail((px, px), Image.Resampling.LANCZOS)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def exif_position(exif: Any) -> tuple[float, float] | None:
    """(longitude, latitude) of an EXIF block's ``GPSInfo``, or None without a valid one.

    Examples
    --------
    >>> from PIL import Image
    >>> exif = Image.Exif()
    >>> exif.get_ifd(GPS_IFD).update({1: "S", 2: (33.0, 51.0, 36.0), 3: "E",
    ...                               4: (151.0, 12.0, 36.0)})
    >>> exif_position(exif)
    (151.21, -33.86)
    >>> exif_position(Image.Exif()) is None
    True
    """
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:  # a GPS block that cannot be read is no position
        return None
    lat = _degrees(gps.get(2), gps.get(1), "NS")
    lon = _degrees(gps.get(4), gps.get(3), "EW")
    if lat is None or lon is None or abs(lat) > 90 or abs(lon) > 180:
        return None
    return round(lon, 7), round(lat, 7)


def _degrees(value: Any, ref: Any, refs: str) -> float | None:
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "replace")
    ref = str(ref or refs[0]).strip().upper()[:1]
    if ref not in refs:
        return None
    try:
        parts = [float(v) for v in value] if isinstance(value, (tuple, list)) else [float(value)]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) and p >= 0 for p in parts):
        return None
    deg = float(sum(p / 60**i for i, p in enumerate(parts)))
    return -deg if ref == refs[1] else deg


_ISO6709 = re.compile(r"^\s*([+-]\d{2}(?:\.\d+)?)([+-]\d{3}(?:\.\d+)?)")


def iso6709_position(text: str | None) -> tuple[float, float] | None:
    """(longitude, latitude) of an ISO 6709 position in decimal degrees (the ``location``
    tag of MP4 and QuickTime videos, ``+47.1391+006.8504/``), or None.

    Examples
    --------
    >>> iso6709_position("+47.1391+006.8504+420.000/")
    (6.8504, 47.1391)
    >>> iso6709_position("somewhere") is None
    True
    """
    m = _ISO6709.match(text or "")
    if m is None:
        return None
    lat, lon = float(m.group(1)), float(m.group(2))
    if abs(lat) > 90 or abs(lon) > 180:
        return None
    return lon, lat


# ------------------------------------------------------------------ videos


def _video(path: Path, name: str, ctype: str, px: int) -> MediaInfo:
    import av

    word = VIDEO_TYPES[ctype]
    label = {"mp4": "MP4", "mov": "MOV", "webm": "WebM"}[word]
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as box:
            formats = set(str(box.format.name).split(","))
            if word not in formats and not (word == "webm" and "matroska" in formats):
                raise MediaError(f"{name}: starts as a {label} video but is "
                                 f"{box.format.long_name}")
            if not box.streams.video:
                raise MediaError(f"{name}: the {label} file holds no video stream")
            stream = box.streams.video[0]
            stream.codec_context.skip_frame = "NONKEY"
            frame = _first_frame(box, stream)
            if frame is None:
                raise MediaError(f"{name}: no frame of the {label} video can be decoded")
            poster_img = frame.to_image()
            duration = _duration(box, stream)
            tags = {str(k).lower(): str(v) for k, v in dict(box.metadata).items()}
    except MediaError:
        raise
    except Exception as exc:  # FFmpegError, and anything PyAV raises on a bad file
        raise MediaError(f"{name}: the {label} video cannot be decoded "
                         f"({_reason(exc, path)})") from None
    position = iso6709_position(tags.get("location") or tags.get("location-eng"))
    lon, lat = position if position is not None else (None, None)
    return MediaInfo("video", ctype, poster_img.width, poster_img.height, duration, lon, lat,
                     _jpeg(poster_img, px), _jpeg(poster_img, POSTER_PX, quality=90))


def _first_frame(box: Any, stream: Any) -> Any:
    """The first decoded (key) frame of ``stream``, or None within :data:`_MAX_PACKETS`."""
    for i, packet in enumerate(box.demux(stream)):
        if i >= _MAX_PACKETS:
            return None
        for frame in packet.decode():
            return frame
    return None


def _duration(box: Any, stream: Any) -> float | None:
    if box.duration:
        return round(float(box.duration) / 1_000_000, 3)
    if stream.duration and stream.time_base:
        return round(float(stream.duration) * float(stream.time_base), 3)
    return None


def _reason(exc: BaseException, path: Path) -> str:
    """An exception's message without the server's paths."""
    text = str(getattr(exc, "strerror", None) or exc or type(exc).__name__)
    for p in (str(path), str(path.parent)):
        text = text.replace(p, "")
    text = re.sub(r"\s*:\s*'?'?\s*$", "", text).strip()
    return text[:200] or type(exc).__name__
