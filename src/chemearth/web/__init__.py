"""The chemearth website and API (FastAPI); see docs/web.md.

The core library never imports this package; it imports the core.
"""

from chemearth.web.app import WebSettings, create_app

__all__ = ["WebSettings", "create_app"]
