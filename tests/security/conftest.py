"""The attack suite shares the website tests' store with sharing rules."""

from tests.web.conftest import (  # noqa: F401 - fixtures used by the attack tests
    secure_app,
    secure_client,
    secure_store,
)
