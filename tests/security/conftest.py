"""The attack suite shares the website tests' store with sharing rules (built on each
store backend)."""

from tests.web.conftest import (  # noqa: F401 - fixtures used by the attack tests
    secure_app,
    secure_client,
    secure_client_pg,
    secure_store,
    secure_store_pg,
)
