"""Photos and videos of sampling sites: ``/api/datasets/{dataset}/media[/{media_id}…]``.

Every answer comes from :mod:`chemearth.access.media`, which applies the samples' sharing
rule (``docs/media.md``): the routes receive the files, add the addresses of each item's
parts, and send the parts with their content type (``nosniff`` is on every answer, from
:class:`~chemearth.web.hygiene.Hygiene`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from chemearth.access import media
from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.store.media import MediaBlob, MediaRecord
from chemearth.web import upload_io
from chemearth.web.auditing import audit
from chemearth.web.deps import ActorDep, GatewayDep

__all__ = ["gallery", "router", "with_urls"]

router = APIRouter(prefix="/api")

_JPEG: dict[int | str, dict[str, Any]] = {200: {"content": {"image/jpeg": {}}}}
_MISSING: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such dataset or media item (or not yours to see)."}}


def with_urls(item: dict[str, Any]) -> dict[str, Any]:
    """A media item with the addresses of its file, thumbnail and (videos) poster."""
    base = f"/api/datasets/{quote(item['dataset'], safe='')}/media/{item['media_id']}"
    return item | {"url": base, "thumbnail_url": f"{base}/thumbnail",
                   "poster_url": f"{base}/poster" if item["kind"] == "video" else None}


def gallery(gw: Gateway, actor: Actor, dataset: str, rules: media.MediaRules
            ) -> dict[str, Any]:
    """What the dataset page shows of its media: whether ``actor`` may see them, the
    items, whether ``actor`` may attach more (to a dataset ``actor`` sees), and the
    upload limits."""
    shown = media.media_visible(gw, actor, dataset)
    items = [with_urls(m) for m in media.list_media(gw, actor, dataset)] if shown else []
    return {"shown": shown, "items": items, "may_attach": media.may_attach(gw, actor, dataset),
            "image_mb": f"{rules.image_max_bytes / 2**20:g}",
            "video_mb": f"{rules.video_max_bytes / 2**20:g}",
            "warn_m": f"{rules.warn_beyond_m:,.0f}"}


@router.post(
    "/datasets/{dataset}/media", tags=["media"], status_code=201,
    summary="Attach photos and videos to samples",
    responses={403: {"description": "Not a data owner of the dataset, nor an administrator."},
               404: {"description": "No such dataset (or not yours to see)."},
               413: {"description": "A file is over its size limit; nothing was attached."},
               422: {"description": "A file is not a photo or video taken, cannot be decoded "
                                    "or names no sample; nothing was attached."}},
)
async def attach(
    request: Request, gw: GatewayDep, actor: ActorDep, dataset: str,
    files: Annotated[list[UploadFile], File(description="Photos (JPEG, PNG, WebP) and videos "
                                            "(MP4, MOV, WebM), each named by its sample id "
                                            "unless the manifest says otherwise.")],
    manifest: Annotated[UploadFile | None, File(description="Optional CSV (columns file, "
                                                "sample_id) or JSON mapping file names to "
                                                "sample ids.")] = None,
) -> JSONResponse:
    """Attach photos and videos to samples of a dataset, all or nothing.

    Each file is recognised by its content, checked against its size limit (20 MB for an
    image, 200 MB for a video by default), matched to a sample and given a thumbnail
    (and a poster frame); a position the file recorded (EXIF GPS) farther than 500 m
    from its sample is stored with a warning, returned here. Needs a data owner's token
    of the dataset's organisation, or an administrator's."""
    rules: media.MediaRules = request.app.state.settings.media
    media.check_attach(gw, actor, dataset)
    with tempfile.TemporaryDirectory() as tmp:
        uploads = []
        for i, f in enumerate(files):
            name = PurePath((f.filename or "").replace("\\", "/")).name or f"file-{i + 1}"
            path = Path(tmp) / f"{i:04d}" / upload_io.safe_name(name, f"file-{i + 1}")
            path.parent.mkdir()
            await upload_io.save_upload(f, path, rules.largest)
            uploads.append(media.Upload(name, path))
        mapping = None
        if manifest is not None:
            data = await manifest.read(media.MAX_MANIFEST_BYTES + 1)
            mapping = media.parse_manifest(
                upload_io.safe_name(manifest.filename, "manifest"), data)
        result = await run_in_threadpool(media.attach_media, gw, actor, dataset, uploads,
                                         mapping, rules)
    result["attached"] = [with_urls(m) for m in result["attached"]]
    audit(request, "upload", actor, dataset=dataset, kind="media",
          files=len(result["attached"]), warnings=len(result["warnings"]), outcome="attached")
    return JSONResponse(result, status_code=201)


@router.get("/datasets/{dataset}/media", tags=["media"],
            summary="Photos and videos of a dataset's samples",
            responses={403: {"description": "The dataset's samples are not shared with you."},
                       404: {"description": "No such dataset (or not yours to see)."}})
def media_list(gw: GatewayDep, actor: ActorDep, dataset: str,
               sample: Annotated[str | None, Query(max_length=200,
                                                   description="Only this sample's.")] = None,
               ) -> dict[str, Any]:
    """Each item's sample, kind, type, size, recorded position and its distance from the
    sample, any warning, and the addresses of its file, thumbnail and poster. Shown to
    whoever may see the dataset's samples (a photo's position reveals the site)."""
    items = [with_urls(m) for m in media.list_media(gw, actor, dataset, sample)]
    return {"dataset": dataset, "media": items, "numberReturned": len(items)}


def _send(rec: MediaRecord, blob: MediaBlob, name: str) -> Response:
    headers = {"Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}"}
    if blob.path is not None:
        return FileResponse(blob.path, media_type=blob.content_type, headers=headers)
    headers["Content-Length"] = str(blob.size)
    return StreamingResponse(blob.chunks(), media_type=blob.content_type, headers=headers)


@router.get("/datasets/{dataset}/media/{media_id}", tags=["media"], response_class=Response,
            summary="A photo or video as attached",
            responses={200: {"content": {t: {} for t in ("image/jpeg", "image/png",
                                                         "image/webp", "video/mp4",
                                                         "video/quicktime", "video/webm")}},
                       **_MISSING})
def media_file(gw: GatewayDep, actor: ActorDep, dataset: str, media_id: str) -> Response:
    """The file as it was attached (with its metadata), to whoever may see the samples."""
    rec, blob = media.media_part(gw, actor, dataset, media_id, "file")
    return _send(rec, blob, rec.file_name)


@router.get("/datasets/{dataset}/media/{media_id}/thumbnail", tags=["media"],
            response_class=Response, summary="A photo's or video's thumbnail (JPEG)",
            responses={**_JPEG, **_MISSING})
def media_thumbnail(gw: GatewayDep, actor: ActorDep, dataset: str, media_id: str) -> Response:
    """A JPEG of at most 320 pixels a side, without metadata (no GPS position)."""
    rec, blob = media.media_part(gw, actor, dataset, media_id, "thumbnail")
    return _send(rec, blob, f"{PurePath(rec.file_name).stem}-thumbnail.jpg")


@router.get("/datasets/{dataset}/media/{media_id}/poster", tags=["media"],
            response_class=Response, summary="A video's poster frame (JPEG)",
            responses={**_JPEG, **_MISSING})
def media_poster(gw: GatewayDep, actor: ActorDep, dataset: str, media_id: str) -> Response:
    """The video's first key frame, without metadata (a photo has none: 404)."""
    rec, blob = media.media_part(gw, actor, dataset, media_id, "poster")
    return _send(rec, blob, f"{PurePath(rec.file_name).stem}-poster.jpg")


@router.delete("/datasets/{dataset}/media/{media_id}", tags=["media"], status_code=204,
               summary="Remove a photo or video",
               responses={403: {"description": "Not a data owner of the dataset, nor an "
                                               "administrator."}, **_MISSING})
def media_delete(request: Request, gw: GatewayDep, actor: ActorDep, dataset: str,
                 media_id: str) -> Response:
    """Remove an item with its thumbnail and poster (data owners and administrators)."""
    media.detach_media(gw, actor, dataset, media_id)
    audit(request, "upload", actor, dataset=dataset, kind="media", media=media_id,
          outcome="removed")
    return Response(status_code=204)
