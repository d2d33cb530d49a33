"""The upload page's helpers: ``POST /api/describe`` and ``POST /api/check``.

``describe`` proposes a descriptor for a survey file (:func:`chemearth.ingest.describe.propose`,
the code of ``chemearth describe``) and checks the proposal against the file
(:func:`chemearth.ingest.check.check_file`, the code of ``chemearth check``); ``check``
checks a descriptor (after the form's edits, :mod:`chemearth.web.descriptor_form`) against
the file again. Both answer the descriptor's text, its form fields and the problems found,
each with its severity (``error``, ``decision``, ``warning``), where and what.

The file is received as an upload's is (:mod:`chemearth.web.upload_io`: its name reduced,
the site's size limit) into a private temporary folder that is deleted before the answer
is sent; nothing is written to the store, and no server path appears in an answer. Who may
call them is who may upload: :func:`chemearth.access.uploads.may_upload` is asked once per
request (:func:`_authorise`), for the organisation the request is for, before the file is
read, so every actor gets the answer an upload would give.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from chemearth.access.gateway import Gateway
from chemearth.access.policy import Actor
from chemearth.access.uploads import authorise, check_references, may_upload
from chemearth.errors import (
    AccessDenied,
    ChemearthError,
    DescriptorError,
    EmptyFileError,
    InputFileError,
)
from chemearth.web import upload_io
from chemearth.web.deps import ActorDep, GatewayDep
from chemearth.web.descriptor_form import apply_fields, form_fields, named_organisation

__all__ = ["SURVEY_SUFFIXES", "router"]

router = APIRouter(prefix="/api")

#: File types a survey may come in here (a Shapefile needs its side files: not one upload).
SURVEY_SUFFIXES = (".csv", ".txt", ".tsv", ".xls", ".xlsx", ".gpkg", ".geojson")
#: How problems are ordered in an answer.
_ORDER = {"error": 0, "decision": 1, "warning": 2}
#: Name of the descriptor in messages.
_DESCRIPTOR = "descriptor.toml"

_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {"description": "Not a data owner of the organisation (nor an administrator): the "
                         "answer an upload would get."},
    413: {"description": "The file or descriptor is over its size limit."},
    422: {"description": "Not a survey table (file type, empty, unreadable) or a bad "
                         "descriptor or form field; the message names the problem."},
}


def _authorise(actor: Actor, organisation: str) -> None:
    """The one permission question of these routes: may ``actor`` upload datasets of
    ``organisation`` (their own when the request names none)?"""
    may_upload(actor, organisation or actor.organisation)


@router.post("/describe", tags=["uploads"], summary="Propose a descriptor for a survey file",
             responses=_RESPONSES)
async def describe(
    request: Request,
    gw: GatewayDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="The survey file (CSV, Excel, GeoPackage).")],
    organisation: Annotated[str | None, Form(
        max_length=200, description="The organisation the dataset is for (default: the "
                                    "token's).")] = None,
    sheet: Annotated[str | None, Form(
        max_length=100, description="Worksheet of a workbook: name or 0-based index.")] = None,
    header_row: Annotated[int | None, Form(
        ge=1, le=100_000, description="1-based row of the column names (default: found).")
    ] = None,
) -> dict[str, Any]:
    """Propose a descriptor for a survey file, as ``chemearth describe`` does, and check it.

    Answers the proposed descriptor (TOML, with its organisation set), its form fields,
    the ``decisions`` the proposal leaves to the owner and the ``problems`` that
    ``chemearth check`` finds in it (and that the upload itself would refuse). Nothing is
    stored. Needs the token an upload needs.
    """
    _authorise(actor, organisation or "")
    name = _survey_name(file)
    boundaries = request.app.state.settings.boundaries
    sheet_arg: str | int | None = int(sheet) if sheet and sheet.isdigit() else sheet or None
    async with _received(file, name, request) as path:
        return await run_in_threadpool(_propose, gw, actor, path, organisation or "",
                                       sheet_arg, header_row, boundaries)


@router.post("/check", tags=["uploads"], summary="Check a descriptor against a survey file",
             responses=_RESPONSES)
async def check(
    request: Request,
    gw: GatewayDep,
    actor: ActorDep,
    file: Annotated[UploadFile, File(description="The survey file (CSV, Excel, GeoPackage).")],
    descriptor: Annotated[UploadFile, File(description="The dataset descriptor (TOML).")],
    fields: Annotated[str | None, Form(
        description="The form's edits as a JSON object (see docs/web.md), written into the "
                    "descriptor first.")] = None,
) -> dict[str, Any]:
    """Check a descriptor against a survey file, as ``chemearth check`` does.

    The form's ``fields`` are written into the descriptor first; the answer holds the
    descriptor so edited, its form fields and every problem found (``ok`` when there is no
    error and nothing left to decide). Nothing is stored. Needs the token an upload needs,
    for the organisation the descriptor names.
    """
    desc_name = upload_io.safe_name(descriptor.filename, _DESCRIPTOR)
    refusal: ChemearthError | None = None
    text = ""
    try:
        text = await upload_io.read_descriptor(descriptor, desc_name)
        if fields:
            text = await run_in_threadpool(apply_fields, text, _edits(fields))
    except ChemearthError as exc:  # told only to those who may be told (asked below)
        refusal = exc
    _authorise(actor, named_organisation(text))
    if refusal is not None:
        raise refusal
    upload_io.check_descriptor_size(text, desc_name)
    name = _survey_name(file)
    boundaries = request.app.state.settings.boundaries
    async with _received(file, name, request) as path:
        return await run_in_threadpool(_check, gw, actor, path, text, boundaries)


def _edits(fields: str) -> dict[str, Any]:
    try:
        edits = json.loads(fields)
    except ValueError as exc:
        raise DescriptorError(f"form fields: not valid JSON ({exc})") from None
    if not isinstance(edits, dict):
        raise DescriptorError("form fields: expected a JSON object of field names and values")
    return edits


def _survey_name(file: UploadFile) -> str:
    """The survey file's safe name; a type that is not a survey table is refused."""
    name = upload_io.safe_name(file.filename, "survey.csv")
    if Path(name).suffix.lower() not in SURVEY_SUFFIXES:
        raise InputFileError(
            f"{name}: not a survey table ({Path(name).suffix or 'no extension'}); send CSV "
            f"(.csv, .txt, .tsv), Excel (.xls, .xlsx) or GeoPackage (.gpkg, .geojson)"
        )
    return name


@contextlib.asynccontextmanager
async def _received(file: UploadFile, name: str, request: Request) -> AsyncIterator[Path]:
    """The uploaded ``file`` saved as ``name`` in a private temporary folder, removed on
    leaving; over the site's upload limit, or empty, it is refused."""
    limit = int(request.app.state.settings.upload_max_bytes)
    with tempfile.TemporaryDirectory(prefix="chemearth-describe-") as tmp:
        path = Path(tmp) / name
        await upload_io.save_upload(file, path, limit)
        if path.stat().st_size == 0:
            raise EmptyFileError(f"{name}: the file is empty")
        yield path


# ------------------------------------------------------------------ the work (threads)


def _propose(gw: Gateway, actor: Actor, path: Path, organisation: str,
             sheet: str | int | None, header_row: int | None,
             boundaries: Path | None) -> dict[str, Any]:
    from chemearth.ingest.describe import propose

    folder = str(path.parent)
    try:
        proposal = propose(path, header_row, sheet=sheet, boundaries=boundaries)
    except ChemearthError as exc:
        raise _scrubbed(exc, folder) from None
    text = _scrub(proposal.text, folder)
    org = organisation or actor.organisation
    if org:
        text = apply_fields(text, {"organisation": org})
    return {"file": path.name, "descriptor": text,
            "decisions": [_scrub(d, folder) for d in proposal.decisions],
            **_check(gw, actor, path, text, boundaries)}


def _check(gw: Gateway, actor: Actor, path: Path, text: str,
           boundaries: Path | None) -> dict[str, Any]:
    """``check_file``'s report on ``text``, with what the upload itself would refuse.

    A descriptor naming a file (``limits_file``, ``flag_file``, an absolute or ``..``
    ``[source].path``) is reported without being checked further: ``check_file`` would
    open that file, and an upload may name none (:func:`check_references`).
    """
    from chemearth.ingest.check import check_file
    from chemearth.ingest.descriptor import parse_descriptor

    folder = str(path.parent)
    problems: list[dict[str, str]] = []
    n_rows = 0
    try:
        desc = parse_descriptor(text, Path(_DESCRIPTOR))
    except DescriptorError:
        desc = None  # check_file reports it
    if desc is not None:
        try:
            check_references(desc)
        except DescriptorError as exc:
            problems.append({"severity": "error", "where": "upload", "message": str(exc)})
    if not problems:
        try:
            report = check_file(path, text, boundaries=boundaries)
        except ChemearthError as exc:
            raise _scrubbed(exc, folder) from None
        n_rows = report.n_rows
        problems = [{"severity": p.severity, "where": _scrub(p.where, folder),
                     "message": _scrub(p.message, folder)} for p in report.problems]
        if not any(p["where"] == "descriptor" for p in problems):
            problems += _as_upload(gw, actor, text)
    problems.sort(key=lambda p: _ORDER.get(p["severity"], 3))
    ok = not any(p["severity"] in ("error", "decision") for p in problems)
    return {"file": path.name, "descriptor": text, "fields": form_fields(text), "ok": ok,
            "n_rows": n_rows, "problems": problems}


def _as_upload(gw: Gateway, actor: Actor, text: str) -> list[dict[str, str]]:
    """What an upload of ``text`` would refuse beyond ``check_file`` (an id another
    organisation holds, a descriptor naming files, an organisation not the owner's)."""
    try:
        desc = authorise(gw, actor, text, _DESCRIPTOR)
    except (AccessDenied, DescriptorError) as exc:
        return [{"severity": "error", "where": "upload", "message": str(exc)}]
    if not desc.dataset.organisation:
        return [{"severity": "decision", "where": "[dataset].organisation",
                 "message": "not given: the organisation that produced the data decides who "
                            "may see and replace it"}]
    return []


def _scrub(text: str, folder: str) -> str:
    return text.replace(folder + "/", "").replace(folder, "")


def _scrubbed(exc: ChemearthError, folder: str) -> ChemearthError:
    """``exc`` with the temporary folder taken out of its message."""
    exc.args = (_scrub(str(exc), folder), *exc.args[1:])
    return exc
