"""Run the website with uvicorn: :func:`serve`, and the factory its workers call."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from chemearth.web.app import WebSettings, create_app

__all__ = ["app_from_env", "serve"]


def app_from_env() -> FastAPI:
    """The application for ``$CHEMEARTH_STORE`` (else ``$CHEMEARTH_HOME``; uvicorn workers
    build theirs with this).

    Its settings come from the environment, read by :class:`chemearth.config.Settings`;
    its access log goes to ``<home>/logs/access.log`` (``CHEMEARTH_ACCESS_LOG``), and
    uvicorn's own access log is off. It warms up (:mod:`chemearth.web.warmup`, at most
    ``CHEMEARTH_WARM_S`` seconds in all): what the first page needs before it is returned
    (at most ``FIRST_BUDGET_S``), the rest in a thread beside the first requests.
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
    if s.warm_s > 0:  # the first page's needs before answering, the rest beside
        from chemearth.web.warmup import FIRST_BUDGET_S, warm

        t0 = time.monotonic()
        _in_thread(lambda: warm(app, min(float(s.warm_s), FIRST_BUDGET_S), "first"))
        left = float(s.warm_s) - (time.monotonic() - t0)
        if left > 0:
            _in_background(lambda: warm(app, left, "rest"))
    app.state.jobs.start()  # takes up jobs left running by a worker that stopped
    return app


def _in_thread(work: Callable[[], object]) -> None:
    """Run ``work`` to its end in a thread of its own: uvicorn calls the factory inside
    its event loop, where nothing else may run yet."""
    t = threading.Thread(target=work, name="chemearth-warm-up-first")
    t.start()
    t.join()


def _in_background(work: Callable[[], object]) -> None:
    """Run ``work`` in a daemon thread of its own: the worker answers at once (a request
    that comes before the warm-up made its answer computes it as it would anyway; both
    fill the same caches), and a server stopped during the warm-up does not wait for it."""
    threading.Thread(target=work, name="chemearth-warm-up", daemon=True).start()


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
