"""Docs that cannot drift: every code block of README.md and docs/*.md runs here.

Each fenced block names its language:

``python``
    executed, the blocks of one page in order in one namespace;
``sh``
    every command executed with bash in order (a command must exit 0);
``toml``
    parsed, and every key checked against the descriptor section it belongs to;
``text``
    not code (diagrams, folder layouts, signature listings): not run.

The pages run as their reader would: after ``make demo`` (here ``chemearth demo --no-serve``,
the command that ``make demo`` runs, into a temporary store: a test cannot serve forever) and
in a working folder next to ``shared/``, so ``../shared/data`` resolves. Files a page asks its
reader to bring (``survey.csv`` with ``survey.toml``, ``certified.csv``,
``my-district.gpkg``) are made here from the real shared data. ``make demo`` and
``make test`` themselves are not run from within the test suite (``make test`` *is* the test
suite; CI runs it); the test checks that the Makefile has them. ``chemearth serve`` is started
in the background on a free port, and the page's ``curl`` commands are sent to it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"python", "sh", "toml", "text"}
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.M | re.S)
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    language: str
    code: str

    def __str__(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line} ({self.language})"


def blocks(page: Path) -> list[Block]:
    text = page.read_text()
    return [
        Block(page, text.count("\n", 0, m.start()) + 1, m.group(1).strip(), m.group(2))
        for m in FENCE.finditer(text)
    ]


def commands(code: str) -> list[str]:
    """Shell commands of a block: continuation lines joined, comments and blanks dropped."""
    out, current = [], ""
    for raw in code.splitlines():
        line = raw.rstrip()
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        words = shlex.split(current, comments=True)
        if words:
            out.append(current.strip())
        current = ""
    return out


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_block_names_its_language(page: Path) -> None:
    for b in blocks(page):
        assert b.language in LANGUAGES, f"{b}: name the block's language ({sorted(LANGUAGES)})"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_toml_blocks_are_valid_descriptor_sections(page: Path) -> None:
    from chemearth.ingest import descriptor

    sections = {
        "dataset": descriptor.DatasetMeta,
        "source": descriptor.Source,
        "coordinates": descriptor.Coordinates,
        "sample": descriptor.SampleSpec,
        "censoring": descriptor.Censoring,
        "qc": descriptor.QcSpec,
    }
    for b in blocks(page):
        if b.language != "toml":
            continue
        doc = tomllib.loads(b.code)
        assert doc, f"{b}: empty"
        for name, table in doc.items():
            assert name in sections or name in ("columns", "defaults"), f"{b}: [{name}]?"
            if name in sections:
                known = {f.name for f in fields(sections[name])}
                assert set(table) <= known, f"{b}: [{name}] {sorted(set(table) - known)}"


def test_the_set_up_commands_are_make_targets() -> None:
    """``make …`` and ``.venv/bin/pytest …`` are not run from within the suite (they would
    run it again); their targets, markers and test folders must exist."""
    makefile = (ROOT / "Makefile").read_text()
    markers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"][
        "ini_options"]["markers"]
    for b in blocks(ROOT / "README.md"):
        if b.language != "sh":
            continue
        for cmd in commands(b.code):
            words = shlex.split(cmd, comments=True)
            if words[0] == "make":
                assert re.search(rf"^{words[1]}:", makefile, re.M), f"{b}: no `{words[1]}`"
            elif words[0] == ".venv/bin/pytest":
                for i, w in enumerate(words[1:], 1):
                    if words[i - 1] == "-m":
                        for m in re.findall(r"[a-z_]+", w.replace("not ", "")):
                            assert any(x.startswith(f"{m}:") for x in markers), f"{b}: {m}?"
                    elif not w.startswith("-"):
                        assert (ROOT / w).exists(), f"{b}: no {w}"


# ------------------------------------------------------------------- running the pages


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """A store as ``make demo`` leaves it: every shipped survey ingested, every grid built.

    Made once per test run: under pytest-xdist the workers share it (the first one to ask
    builds it under a lock, the others wait), as the pages only ever copy it.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's folder, above each worker's own
    home, done = root / "docs-demo-home", root / "docs-demo-home.done"
    with (root / "docs-demo-home.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(home, ignore_errors=True)
            env = {**os.environ, "CHEMEARTH_DATA": str(data_dir)}
            subprocess.run([str(BIN / "chemearth"), "demo", "--no-serve", "--home", str(home)],
                           check=True, capture_output=True, env=env, timeout=900)
            done.touch()
    return home


def _reader_files(work: Path, data_dir: Path) -> None:
    """What the pages ask their reader to bring, made from the real shared data."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    # a survey of one's own: 200 DS-801 sites of Colorado, columns renamed, "<DL" kept
    ds801 = pd.read_csv(data_dir / "usgs_ds801" / "ds801_top5_raw.csv", dtype=str)
    own = ds801[(ds801["StateID"] == "CO") & (ds801["Top5_LabID"] != "N.S.")].head(200)
    own = own[["SiteID", "Latitude", "Longitude", "Top5_As", "Top5_Cu", "Top5_Pb"]]
    own.columns = ["site", "lat", "lon", "As_ppm", "Cu_ppm", "Pb_ppm"]
    own.to_csv(work / "survey.csv", index=False)
    descriptor = '''[dataset]
id = "my-survey"
title = "Colorado topsoils (200 DS-801 sites, a reader's own survey)"
organisation = "U.S. Geological Survey"
countries = ["US"]
medium = "topsoil"
depth_cm = [0, 5]
licence = "Public domain (U.S. Government work)"
citation = "Smith, D.B., et al., 2013, U.S. Geological Survey Data Series 801"
sharing = "public"

[source]
path = "survey.csv"

[coordinates]
x = "lon"
y = "lat"
crs = "EPSG:4269"

[sample]
id = "site"

[censoring]
encoding = "lt_string"

[defaults]
unit = "mg/kg"
method = "ICP-AES/ICP-MS after near-total four-acid digestion"
digestion = "near-total"

[columns]
As_ppm = "As"
Cu_ppm = "Cu"
Pb_ppm = "Pb"
'''
    (work / "survey.toml").write_text(descriptor)
    (work / "my-survey.toml").write_text(descriptor)
    # certified copper of the CANMET materials in qc/crm.test.csv (total, mg/kg)
    (work / "certified.csv").write_text(
        "material,element,value\nSTSD-1,Cu,36\nSTSD-2,Cu,47\nSTSD-3,Cu,39\nSTSD-4,Cu,65\n"
        "TILL-4,Cu,237\n"
    )
    # a district: the Monchegorsk area on the Kola Peninsula
    gpd.GeoDataFrame({"name": ["Monchegorsk"]},
                     geometry=[shapely.box(32.0, 67.6, 33.5, 68.2)], crs="EPSG:4326"
                     ).to_file(work / "my-district.gpkg", driver="GPKG")


@dataclass
class Reader:
    """A reader's shell: a working folder, a store, and a server once one is started."""

    work: Path
    env: dict[str, str]
    port: int
    server: subprocess.Popen[bytes] | None = None

    def run(self, cmd: str, where: str) -> str:
        if cmd.startswith(("make ", ". .venv/bin/activate", ".venv/bin/pytest")):
            return ""  # set-up and the test suite itself: see test_the_set_up_commands_...
        cmd = cmd.replace("127.0.0.1:8000", f"127.0.0.1:{self.port}")
        if cmd.startswith("curl "):  # an HTTP error status fails the command
            cmd = "curl -sS --fail-with-body " + cmd[len("curl "):]
        if re.match(r"chemearth serve\b", cmd):
            self.serve(cmd, where)
            return ""
        proc = subprocess.run(["bash", "-c", f"set -o pipefail; {cmd}"], cwd=self.work,
                              env=self.env, capture_output=True, text=True, timeout=900,
                              check=False)
        assert proc.returncode == 0, (
            f"{where}: `{cmd}` exited {proc.returncode}\n{proc.stdout[-2000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
        if cmd.startswith("curl"):
            assert proc.stdout.strip(), f"{where}: `{cmd}` answered nothing"
        token = re.search(r"\bce_[0-9a-f]{12}_[A-Za-z0-9_-]{43}\b", proc.stdout)
        if cmd.startswith("chemearth token create") and "--role owner" in cmd and token:
            self.env["TOKEN"] = token.group(0)  # $TOKEN of the page: a data owner's token
        return proc.stdout

    def serve(self, cmd: str, where: str) -> None:
        args = shlex.split(cmd, comments=True)
        args = [a if a != "8000" else str(self.port) for a in args]
        if "--port" not in args:
            args += ["--port", str(self.port)]
        self.stop()
        self.server = subprocess.Popen(args, cwd=self.work, env=self.env, start_new_session=True,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.server.poll() is None, f"{where}: `{cmd}` stopped"
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.port}/api/collections"
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        return
            time.sleep(0.5)
        raise AssertionError(f"{where}: `{cmd}` did not answer within 120 s")

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGINT)
            try:
                self.server.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.server.pid, signal.SIGKILL)
                self.server.wait(10)
        self.server = None


@pytest.fixture
def reader(tmp_path: Path, demo_home: Path, data_dir: Path) -> Iterator[Reader]:
    """A fresh copy of the demo store and a working folder next to ``shared/``."""
    home = tmp_path / "home"
    shutil.copytree(demo_home, home)
    (tmp_path / "shared").symlink_to(data_dir.parent, target_is_directory=True)
    work = tmp_path / "work"
    work.mkdir()
    _reader_files(work, data_dir)
    env = {**os.environ, "CHEMEARTH_HOME": str(home), "CHEMEARTH_DATA": str(data_dir),
           "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("CHEMEARTH_DEBUG", None)
    r = Reader(work, env, free_port())
    try:
        yield r
    finally:
        r.stop()


RUNNABLE = [p for p in PAGES if any(b.language in ("python", "sh") for b in blocks(p))]


@pytest.mark.slow
@pytest.mark.parametrize("page", RUNNABLE, ids=lambda p: p.name)
def test_page_runs(page: Path, reader: Reader, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(reader.work)
    for var in ("CHEMEARTH_HOME", "CHEMEARTH_DATA"):
        monkeypatch.setenv(var, reader.env[var])
    namespace: dict[str, object] = {"__name__": f"docs:{page.name}"}
    for b in blocks(page):
        if b.language == "python":
            exec(compile(b.code, str(b), "exec"), namespace)  # the page's own code
        elif b.language == "sh":
            for cmd in commands(b.code):
                reader.run(cmd, str(b))
