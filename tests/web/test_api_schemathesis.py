"""schemathesis against the JSON API's own OpenAPI schema (``/api/v1/openapi.json``): every operation,
requests generated from the schema (valid and invalid), called as the department on the small city of
tests/web/test_city.py. No call may give a server error, and every answer must be of a status, content
type and shape the schema documents.

One check is left out, positive data acceptance ("a request the schema allows gets a 2xx"): which
questionnaire versions, periods and former districts exist is data, not schema, so a well-formed
request naming none of them is rightly a 400 that says which parameter names nothing."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as examples
from schemathesis.specs.openapi.checks import positive_data_acceptance

from web.routes import api

schema = schemathesis.openapi.from_dict(api.schema())


@pytest.fixture
def as_department(city, department):
    return department


@schema.parametrize()
@examples(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_the_api_keeps_to_its_schema(case, as_department):
    request = case.as_transport_kwargs(base_url="http://testserver")
    if not request.get("cookies"):  # the login's cookie is the client's own
        request.pop("cookies", None)
    response = as_department.request(**request)
    case.validate_response(response, excluded_checks=[positive_data_acceptance])
