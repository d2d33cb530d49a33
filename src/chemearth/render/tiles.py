"""XYZ PNG map tiles (Web Mercator, ``WebMercatorQuad``) rendered from a grid layer's cells.

A layer at one level is a set of cells of one grid, each with a colour class
(:func:`chemearth.stats.classes.classify` of the mapped statistic), indexed once in a
:class:`~chemearth.render.layer_index.LayerIndex`. :func:`render_tile` then draws any
tile: the centre of each pixel is taken from Web Mercator to the grid's CRS, keyed to its
cell like :meth:`chemearth.grid.geometry.Grid.cell_keys_xy`, and painted in its class
colour. Pixels without a cell are transparent.

Speed
-----
* Only the window of the tile's pixels inside the layer's bounding box is computed; a
  tile outside it is :func:`empty_tile` (a cached transparent PNG) at once, as is a tile
  that meets no cell.
* EASE-Grid 2.0 (EPSG:6933) is separable from Web Mercator (easting depends only on
  longitude, northing only on latitude), so a tile transforms one row and one column of
  pixel centres, exactly as pyproj would transform every pixel.
* ETRS89-LAEA (EPSG:3035) is not: a mesh of 17 × 17 nodes is transformed and
  interpolated bilinearly, in cell units and float32, without BLAS. The interpolation
  error is bounded from the errors at the middles of the mesh's edges and the mesh
  refined (33, 65 nodes, then every pixel) until it is under :data:`MAX_ERROR_PX` of a
  pixel: 17 nodes from zoom 6 on.
* The pixels' cells are looked up in the index: by position in its dense raster of
  classes, or in its sorted cells for large layers (see
  :mod:`chemearth.render.layer_index`).

The PNGs are palette images (``P`` mode): colour ``k`` is class ``k`` and the one index
after the classes is fully transparent (tRNS), so a tile of nine classes is a 4-bit PNG.

Examples
--------
>>> import io
>>> import numpy as np
>>> from PIL import Image
>>> from chemearth.grid.geometry import EUROPE
>>> keys = EUROPE.cell_keys([30.0, 31.0], [69.0, 69.0], 10_000)  # two cells on Kola
>>> index = LayerIndex.from_cells(EUROPE, 10_000, keys, np.array([0, 1], dtype=np.uint8))
>>> png = render_tile(index, 8, 149, 60, ["#440154", "#fde725"])
>>> Image.open(io.BytesIO(png)).size
(256, 256)
>>> render_tile(index, 8, 0, 0, ["#440154", "#fde725"]) == empty_tile()
True
"""

from __future__ import annotations

import functools
import io
import math
import re
import zlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import numpy as np
import pyproj
from numpy.typing import ArrayLike

from chemearth.errors import NotFoundError
from chemearth.render.layer_index import (
    Box,
    Classes,
    Floats,
    LayerIndex,
    Mesh,
    Weights,
    bilinear,
    transformer,
)
from chemearth.stats.classes import NO_CLASS, ClassError

if TYPE_CHECKING:
    import morecantile

__all__ = [
    "MAX_ERROR_PX",
    "MAX_TILE_SIZE",
    "MAX_ZOOM",
    "TILE_MATRIX_SET",
    "TileError",
    "empty_tile",
    "encode_png",
    "render_tile",
    "tile_bounds",
    "tile_classes",
]

#: The OGC tile matrix set of the tiles.
TILE_MATRIX_SET: Final = "WebMercatorQuad"
#: Highest zoom level served.
MAX_ZOOM: Final = 22
#: Largest error, in pixels, of the interpolated pixel positions of non-separable grids.
MAX_ERROR_PX: Final = 0.05
#: Largest tile side in pixels.
MAX_TILE_SIZE: Final = 4096

#: Grid CRSs whose easting depends only on longitude and northing only on latitude.
_SEPARABLE = frozenset({"EPSG:6933", "EPSG:4326", "EPSG:3857"})
#: Node counts of the interpolation mesh, coarsest first (then every pixel).
_MESH_NODES = (17, 33, 65)
#: Windows of at most this many pixels are transformed pixel by pixel.
_EXACT_PIXELS = 1024
#: zlib settings of the PNGs: run-length encoding is 2–4x faster than the default
#: strategy on class tiles, and the files are as small as with level 6.
_PNG_OPTIONS: Final = {"compress_level": 6, "compress_type": zlib.Z_RLE}
_COLOUR = re.compile(r"#([0-9a-fA-F]{6})")


class TileError(NotFoundError):
    """A tile that is not in the tile matrix set (bad zoom, column or row)."""


@functools.lru_cache(maxsize=1)
def _tms() -> morecantile.TileMatrixSet:
    import morecantile

    return morecantile.tms.get(TILE_MATRIX_SET)


def _check_tile(z: int, x: int, y: int) -> None:
    for name, v in (("z", z), ("x", x), ("y", y)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer):
            raise TileError(f"tile {name} must be an integer, got {v!r}")
    if not 0 <= z <= MAX_ZOOM:
        raise TileError(f"tile zoom {z} is not in 0–{MAX_ZOOM}")
    n = 1 << int(z)
    if not (0 <= x < n and 0 <= y < n):
        raise TileError(
            f"tile {z}/{x}/{y} does not exist: x and y must be in 0–{n - 1} at zoom {z}"
        )


def _check_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int | np.integer):
        raise TileError(f"tile size must be an integer, got {size!r}")
    if not 1 <= size <= MAX_TILE_SIZE:
        raise TileError(f"tile size {size} is not in 1–{MAX_TILE_SIZE}")
    return int(size)


def tile_bounds(z: int, x: int, y: int) -> Box:
    """``(west, south, east, north)`` of a ``WebMercatorQuad`` tile in degrees.

    Raises
    ------
    TileError
        If ``z`` is not 0–22 or ``x``, ``y`` not 0 … 2**z - 1.

    Examples
    --------
    >>> [round(v, 4) for v in tile_bounds(1, 1, 0)]
    [0.0, 0.0, 180.0, 85.0511]
    """
    _check_tile(z, x, y)
    import morecantile

    b = _tms().bounds(morecantile.Tile(int(x), int(y), int(z)))
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))


def _tile_xy_bounds(z: int, x: int, y: int) -> Box:
    """``(left, bottom, right, top)`` of a tile in Web Mercator metres."""
    import morecantile

    b = _tms().xy_bounds(morecantile.Tile(int(x), int(y), int(z)))
    return (float(b.left), float(b.bottom), float(b.right), float(b.top))


def _interpolation(at: Floats, nodes: Floats) -> Weights:
    """Interval ``k`` and fraction ``t`` of each of ``at`` between monotone ``nodes``."""
    sign = 1.0 if nodes[-1] > nodes[0] else -1.0
    k = np.clip(np.searchsorted(sign * nodes, sign * at, side="right") - 1, 0, nodes.size - 2)
    return k, (at - nodes[k]) / (nodes[k + 1] - nodes[k])


def _exact_xy(t: pyproj.Transformer, cx: Floats, cy: Floats) -> tuple[Floats, Floats]:
    """Every pixel centre transformed: ``(len(cy), len(cx))`` arrays."""
    gx, gy = t.transform(np.tile(cx, cy.size), np.repeat(cy, cx.size), errcheck=False)
    return np.asarray(gx).reshape(cy.size, cx.size), np.asarray(gy).reshape(cy.size, cx.size)


def _mesh(t: pyproj.Transformer, cx: Floats, cy: Floats, edges: Box) -> Mesh | None:
    """A mesh to interpolate the grid coordinates of pixel centres ``cx`` × ``cy`` in.

    ``cx``, ``cy`` are in Web Mercator, rows north first; ``edges`` are the window's
    outer pixel edges ``(left, top, right, bottom)``. The mesh's nodes are at equal
    steps from edge to edge; it is the coarsest (17, 33 or 65 nodes a side) whose
    bilinear interpolation error, bounded from its errors at the middles of the mesh's
    edges, is under :data:`MAX_ERROR_PX` of a pixel. Returns the interpolation weights
    of the columns and rows of pixels and the nodes' grid coordinates, or None when no
    mesh fits (or the window is small): then every pixel is to be transformed.
    (Interpolating linearly in latitude instead of Web Mercator northing was tried: it
    is 10–25 % less accurate for EPSG:3035.)
    """
    width, height = cx.size, cy.size
    if width * height <= _EXACT_PIXELS:
        return None
    x0, y0, x1, y1 = edges
    for nodes in _MESH_NODES:
        nu, nv = min(nodes, width + 1), min(nodes, height + 1)
        mx, my = x0 + (x1 - x0) * np.linspace(0.0, 1.0, nu), y0 + (y1 - y0) * np.linspace(0, 1, nv)
        bx, by = (mx[:-1] + mx[1:]) / 2.0, (my[:-1] + my[1:]) / 2.0
        # the nodes, then the midpoints of the mesh's horizontal and vertical edges
        px = np.concatenate([np.tile(mx, nv), np.tile(bx, nv), np.tile(mx, nv - 1)])
        py = np.concatenate([np.repeat(my, nu), np.repeat(my, nu - 1), np.repeat(by, nu)])
        gx, gy = (np.asarray(v) for v in t.transform(px, py, errcheck=False))
        k, h = nu * nv, nu * nv + (nu - 1) * nv
        nx, ny = gx[:k].reshape(nv, nu), gy[:k].reshape(nv, nu)
        # Bilinear interpolation errs by about s(1-s)·a + t(1-t)·b in a block (s, t in
        # 0–1), where a and b are 4x its errors at the middles of the block's edges.
        err = 0.0
        for n, g in ((nx, gx), (ny, gy)):
            across = np.abs(g[k:h].reshape(nv, nu - 1) - (n[:, :-1] + n[:, 1:]) / 2.0)
            down = np.abs(g[h:].reshape(nv - 1, nu) - (n[:-1] + n[1:]) / 2.0)
            err = max(err, float(np.max(across)) + float(np.max(down)))
        # the smallest pixel side in grid metres, along either direction of the mesh
        pixel = min(
            float(np.min(np.hypot(np.diff(nx, axis=1), np.diff(ny, axis=1)))) * (nu - 1) / width,
            float(np.min(np.hypot(np.diff(nx, axis=0), np.diff(ny, axis=0)))) * (nv - 1) / height,
        )
        if math.isfinite(err) and math.isfinite(pixel) and err <= MAX_ERROR_PX * pixel:
            return _interpolation(cx, mx), _interpolation(cy, my), nx, ny
        if nu == width + 1 and nv == height + 1:
            break
    return None


def _grid_xy(t: pyproj.Transformer, cx: Floats, cy: Floats, edges: Box) -> tuple[Floats, Floats]:
    """Grid coordinates of pixel centres ``cx`` × ``cy``: from a :func:`_mesh`, or exact."""
    mesh = _mesh(t, cx, cy, edges)
    if mesh is None:
        return _exact_xy(t, cx, cy)
    u, v, nx, ny = mesh
    return bilinear(nx, u, v), bilinear(ny, u, v)


def _overlaps(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def tile_classes(index: LayerIndex, z: int, x: int, y: int, size: int = 256) -> Classes:
    """Class of every pixel of a tile: ``(size, size)`` uint8, row 0 north, 255 = no cell.

    Only the window of pixels inside the layer's bounding box is computed.

    Raises
    ------
    TileError
        For a tile not in ``WebMercatorQuad`` up to zoom 22, or a size not 1–4096.

    Examples
    --------
    >>> import numpy as np
    >>> from chemearth.grid.geometry import GLOBAL
    >>> index = LayerIndex.from_cells(GLOBAL, 160_000, GLOBAL.cell_keys(0.5, 0.5, 160_000), [2])
    >>> np.unique(tile_classes(index, 7, 64, 63), return_counts=True)
    (array([  2, 255], dtype=uint8), array([17214, 48322]))
    """
    _check_tile(z, x, y)
    size = _check_size(size)
    out = np.full((size, size), NO_CLASS, dtype=np.uint8)
    box = _tile_xy_bounds(z, x, y)
    if index.bbox is None or not _overlaps(box, index.xy_box):
        return out
    left, bottom, right, top = box
    centres = (np.arange(size) + 0.5) / size
    cx, cy = left + (right - left) * centres, top - (top - bottom) * centres
    west, south, east, north = index.xy_box
    ix = np.flatnonzero((cx >= west) & (cx <= east))
    iy = np.flatnonzero((cy >= south) & (cy <= north))
    if ix.size == 0 or iy.size == 0:
        return out
    i0, i1, j0, j1 = int(ix[0]), int(ix[-1]) + 1, int(iy[0]), int(iy[-1]) + 1
    cx, cy = cx[i0:i1], cy[j0:j1]
    t = transformer("EPSG:3857", index.grid.crs)
    if index.grid.crs in _SEPARABLE:
        gx = np.asarray(t.transform(cx, np.zeros(cx.size))[0])
        gy = np.asarray(t.transform(np.zeros(cy.size), cy)[1])
        out[j0:j1, i0:i1] = index.classes_xy(gx[None, :], gy[:, None])
    else:
        edges = (
            left + (right - left) * i0 / size,
            top - (top - bottom) * j0 / size,
            left + (right - left) * i1 / size,
            top - (top - bottom) * j1 / size,
        )
        mesh = _mesh(t, cx, cy, edges)
        if mesh is not None and index.whole_cells:
            out[j0:j1, i0:i1] = index.classes_mesh(mesh)
        else:
            out[j0:j1, i0:i1] = index.classes_xy(*_grid_xy(t, cx, cy, edges))
    return out


@functools.lru_cache(maxsize=8)
def _empty_png(size: int) -> bytes:
    from PIL import Image

    image = Image.new("P", (size, size), 0)
    image.putpalette(b"\x00\x00\x00")
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=b"\x00", optimize=True)
    return buf.getvalue()


def empty_tile(size: int = 256) -> bytes:
    """A fully transparent PNG tile (cached).

    Examples
    --------
    >>> empty_tile()[:8] == b"\\x89PNG\\r\\n\\x1a\\n", len(empty_tile()) < 200
    (True, True)
    """
    return _empty_png(_check_size(size))


@functools.lru_cache(maxsize=64)
def _png_palette(colours: tuple[str, ...], alpha: int) -> tuple[bytes, bytes, Classes]:
    """PLTE and tRNS of ``colours`` plus a transparent entry, and the class → index map."""
    rgb = bytearray()
    for c in colours:
        m = _COLOUR.fullmatch(c) if isinstance(c, str) else None
        if m is None:
            raise ClassError(f"colours must be '#rrggbb' strings, got {c!r}")
        rgb += bytes.fromhex(m[1])
    n = len(colours)
    lut = np.full(256, n, dtype=np.uint8)
    lut[:n] = np.arange(n, dtype=np.uint8)
    lut.flags.writeable = False
    return bytes(rgb) + b"\x00\x00\x00", bytes([alpha] * n + [0]), lut


def render_tile(
    index: LayerIndex,
    z: int,
    x: int,
    y: int,
    colours: Sequence[str],
    size: int = 256,
    *,
    opacity: float = 1.0,
) -> bytes:
    """A ``WebMercatorQuad`` tile of a layer as PNG bytes.

    Each pixel takes the colour of the class of the cell under its centre; pixels
    without a cell (or of class 255) are transparent.

    Parameters
    ----------
    index : LayerIndex
        The layer's cells and classes.
    z, x, y : int
        Zoom (0–22), column and row (0 … 2**z - 1, row 0 north) of the tile.
    colours : sequence of str
        ``'#rrggbb'`` colour of each class (e.g. ``Legend.colours``); at least
        ``index.n_classes`` and at most 255.
    size : int
        Tile side in pixels (256; 512 for high-density screens).
    opacity : float
        Alpha of the cells, 0–1 (``0.85`` lets the base map show through).

    Raises
    ------
    TileError
        For a tile that does not exist, or a size not 1–4096.
    ClassError
        For malformed colours, fewer colours than classes, or an opacity not in 0–1.

    Examples
    --------
    >>> import io
    >>> import numpy as np
    >>> from PIL import Image
    >>> from chemearth.grid.geometry import GLOBAL
    >>> index = LayerIndex.from_cells(GLOBAL, 160_000, GLOBAL.cell_keys(0.5, 0.5, 160_000), [1])
    >>> png = render_tile(index, 7, 64, 63, ["#440154", "#fde725"], opacity=0.85)
    >>> Image.open(io.BytesIO(png)).convert("RGBA").getpixel((0, 255))
    (253, 231, 37, 217)
    """
    palette = _checked_palette(colours, opacity)
    if index.n_classes > len(colours):
        raise ClassError(
            f"the layer has {index.n_classes} classes but only {len(colours)} colours were given"
        )
    return _encode(tile_classes(index, z, x, y, size), palette)


def _checked_palette(colours: Sequence[str], opacity: float) -> tuple[bytes, bytes, Classes]:
    if not 0.0 <= opacity <= 1.0:
        raise ClassError(f"opacity must be 0–1, got {opacity!r}")
    if isinstance(colours, str) or len(colours) > NO_CLASS:
        raise ClassError(f"colours must be a sequence of at most {NO_CLASS} '#rrggbb' strings")
    return _png_palette(tuple(colours), round(255 * opacity))


def _encode(classes: Classes, palette: tuple[bytes, bytes, Classes]) -> bytes:
    height, width = classes.shape
    if height == width and np.all(classes == NO_CLASS):
        return empty_tile(width)
    from PIL import Image

    plte, trns, lut = palette
    pixels = np.ascontiguousarray(np.take(lut, classes))
    image = Image.frombuffer("P", (width, height), pixels, "raw", "P", 0, 1)
    image.putpalette(plte)
    buf = io.BytesIO()
    image.save(buf, "PNG", transparency=trns, **_PNG_OPTIONS)
    return buf.getvalue()


def encode_png(classes: ArrayLike, colours: Sequence[str], *, opacity: float = 1.0) -> bytes:
    """A PNG of a 2-D array of classes (row 0 at the top), as :func:`render_tile` draws tiles.

    Class ``k`` is painted ``colours[k]`` with alpha ``opacity``; class 255 is transparent.
    An all-transparent square image is :func:`empty_tile`.

    Raises
    ------
    ClassError
        For classes that are not a 2-D array of integers 0–255, a class without a colour,
        malformed colours or an opacity not in 0–1.

    Examples
    --------
    >>> import io
    >>> from PIL import Image
    >>> png = encode_png([[0, 1], [255, 1]], ["#440154", "#fde725"])
    >>> Image.open(io.BytesIO(png)).convert("RGBA").getpixel((0, 1))
    (0, 0, 0, 0)
    """
    palette = _checked_palette(colours, opacity)
    raw = np.asarray(classes)
    if raw.ndim != 2 or 0 in raw.shape or raw.dtype.kind not in "iu":
        raise ClassError(
            f"classes must be a non-empty 2-D integer array, got {raw.dtype} {raw.shape}"
        )
    if raw.min() < 0 or raw.max() > NO_CLASS:
        raise ClassError("classes must be 0–255")
    drawn = raw[raw != NO_CLASS]
    if drawn.size and int(drawn.max()) >= len(colours):
        raise ClassError(f"class {int(drawn.max())} has no colour ({len(colours)} colours given)")
    return _encode(raw.astype(np.uint8), palette)
