"""The HTTP API fuzzed from its own OpenAPI (schemathesis): for every operation, a bounded number of
generated calls with a controller's key; no answer is a 5xx and every answer matches the schema."""

from __future__ import annotations

import base64

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dsr_pipelines.intake.api import Dsr

from . import apiserver
from .conftest import make_project

EXAMPLES = 25  # per operation: bounded, so CI stays fast


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    root = tmp_path_factory.mktemp("fuzz")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DSR_MASTER_KEY", base64.b64encode(b"k" * 32).decode())
        project = make_project(root, f"sqlite:///{root / 'shop.db'}")
        with Dsr(project.config_path, actor="ops") as dsr:
            token = dsr.create_api_key("acme").token
        # No callbacks: the fuzzer registers endpoints on hosts that do not exist.
        options = ("--rate", "10000", "--burst", "10000", "--deliver-every", "0")
        server = apiserver.start(project.config_path, *options)
        try:
            yield server, token
        finally:
            server.stop()


def operations(server) -> list:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


def test_no_server_error_and_every_answer_as_documented(fuzzed):
    # Each operation's own Hypothesis run (schemathesis' pytest plugin does not load under this
    # pytest: it reads a node attribute pytest 9 removed). Every default check but one: a call the
    # schema allows may still be refused for what only the project knows (an identity kind no
    # datamap field has, an email that is not one, another tenant's id), with a 400 or 404.
    server, token = fuzzed
    auth = {"Authorization": f"Bearer {token}"}
    found = operations(server)
    assert len(found) >= 20
    for operation in found:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
        )
        def check(case):
            case.call_and_validate(headers=auth, excluded_checks=[positive_data_acceptance])

        check()
