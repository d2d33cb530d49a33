"""The first page after the server starts: the map viewer, loaded by a real browser.

``measure(base)`` opens ``base + "/"`` in Debian's chromium (driven by Playwright, never
``playwright install``) and times the page until the viewer has drawn its opening layer:
the navigation, every request the page made (``/api/layers``, boundaries, TileJSON,
legend, tiles …) and the moment the network went quiet. ``bench/serve/run.py`` calls it
right after ``chemearth serve`` first answers, before anything else touches the server,
so nothing the page needs was computed by an earlier request.

Standalone, against a store (e.g. the one ``chemearth demo`` builds)::

    .venv/bin/python bench/serve/first_page.py --store /tmp/demo-store [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
#: the page counts as drawn when the network has been quiet this long
QUIET_MS = 500


def available() -> str:
    """'' when a browser can be driven, else why not."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return ""


def measure(base: str, timeout_s: float = 120.0) -> dict[str, Any]:
    """Load the map page once; seconds to the load event and to the drawn page (network
    quiet for :data:`QUIET_MS` after the last answer), and the slowest requests."""
    from playwright.sync_api import sync_playwright

    started: dict[str, float] = {}
    done: list[tuple[float, float, int, str]] = []  # (start, end, status, url)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.on("request", lambda r: started.setdefault(r.url, time.perf_counter()))

            def finished(r: Any) -> None:
                resp = r.response()
                done.append((started.get(r.url, t0), time.perf_counter(),
                             resp.status if resp else 0, r.url))

            page.on("requestfinished", finished)
            page.on("requestfailed",
                    lambda r: done.append((started.get(r.url, t0), time.perf_counter(), 0, r.url)))
            t0 = time.perf_counter()
            page.goto(base + "/", wait_until="load", timeout=timeout_s * 1000)
            t_load = time.perf_counter() - t0
            page.wait_for_load_state("networkidle", timeout=timeout_s * 1000)
            # networkidle is 500 ms without a request; the page is drawn at the last answer
            t_drawn = max((end for _, end, _, _ in done), default=t0) - t0
        finally:
            browser.close()
    slow = sorted(done, key=lambda d: d[0] - d[1])[:8]
    return {
        "load_s": t_load,
        "drawn_s": t_drawn,
        "requests": len(done),
        "failed": sum(1 for d in done if not 200 <= d[2] < 400),
        "slowest": [{"url": u.removeprefix(base), "status": s, "s": round(e - b, 3)}
                    for b, e, s, u in slow],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--port", type=int, default=18790)
    args = ap.parse_args()
    if why := available():
        sys.exit(f"no browser: {why}")
    env = {**os.environ, "CHEMEARTH_HOME": str(args.store.resolve())}
    exe = Path(sys.executable).with_name("chemearth")
    cmd = [str(exe), "serve", "--host", "127.0.0.1", "--port", str(args.port),
           "--workers", str(args.workers)]
    base = f"http://127.0.0.1:{args.port}"
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(base + "/api", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
            if proc.poll() is not None or time.perf_counter() - t0 > 180:
                sys.exit("the server did not start")
        up = time.perf_counter() - t0
        result = {"server_up_s": up, **measure(base)}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # the group this script started
        proc.wait(20)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
