"""schemathesis against the OpenAPI document: generated requests find no server error.

Runs in process (ASGI) over the secure store, as an administrator (every code path
open) and anonymously (every refusal path), for every operation of the document.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

EXAMPLES = 25


@pytest.mark.slow
@pytest.mark.parametrize("actor", ["admin", "anonymous"])
def test_generated_requests_find_no_server_error(
    secure_store: Any, boundaries: Any, actor: str
) -> None:
    from chemearth.web import WebSettings, create_app

    # its own app, without the limit on failed tokens: the generated log-ins are all bad
    # tokens, and the limit would then answer every request of the run with 429
    app = create_app(secure_store.store,
                     WebSettings(boundaries=boundaries, timeout_s=120, auth_failures=0))
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = secure_store.headers(actor)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25

    for op in operations:

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), database=None)
        def check(case: Any) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
