"""Run the website with uvicorn: :func:`serve`, and the factory its workers call."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from chemearth.web.app import WebSettings, create_app

__all__ = ["app_from_env", "serve"]


def app_from_env() -> FastAPI:
    """The application for ``$CHEMEARTH_STORE`` (else ``$CHEMEARTH_HOME``; uvicorn workers
    build theirs with this).

    Its settings come from the environment, read by :class:`chemearth.config.Settings`;
    its access log goes to ``<home>/logs/access.log`` (``CHEMEARTH_ACCESS_LOG``), and
    uvicorn's own access log is off.
    """
    from chemearth.config import Settings, access_log_target
    from chemearth.store import open_store

    s = Settings.from_env()
    settings = WebSettings(
        access_log=access_log_target(s.home),
        boundaries=s.boundaries,
        k=s.min_cell_n,
        tile_cache=s.tile_cache,
        auth_failures=s.auth_failures,
        secure_cookies=s.secure_cookies,
        trusted_proxies=s.trusted_proxies,
    )
    app = create_app(open_store(s.store), settings)
    app.state.jobs.start()  # takes up jobs left running by a worker that stopped
    return app


def serve(
    home: Path | str, host: str = "127.0.0.1", port: int = 8000, workers: int = 1
) -> None:
    """Serve the store at ``home`` (a folder or a ``postgresql://`` URL) until interrupted.

    Every worker process runs a job worker (:class:`chemearth.access.jobs.JobWorker`) that
    takes uploads from the store's queue.
    """
    import uvicorn

    os.environ["CHEMEARTH_STORE"] = str(home)
    if isinstance(home, Path):
        os.environ["CHEMEARTH_HOME"] = str(home)
    uvicorn.run(
        "chemearth.web.serve:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
