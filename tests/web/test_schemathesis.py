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
    secure_app: Any, secure_store: Any, actor: str
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", secure_app)
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
