"""What reaches the caller when DynamoDB cannot be used: an outage is a 503 (retry later); a request botocore
refuses to send is a bug of ours, which must surface as one (500 and a log line), not hide as an outage."""

import pytest
from botocore.exceptions import (
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from robotappel.dal.dynamodb import unavailable_on_throttling
from robotappel.errors import ServiceUnavailable


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://dynamodb.eu-west-3.amazonaws.com"),
    ],
    ids=type,
)
def test_an_unreachable_database_is_service_unavailable(error: Exception) -> None:
    with pytest.raises(ServiceUnavailable), unavailable_on_throttling():
        raise error


@pytest.mark.parametrize(
    "error",
    [ParamValidationError(report="Invalid type for parameter Key.orgId.S"), NoCredentialsError()],
    ids=type,
)
def test_a_request_botocore_refuses_to_send_stays_an_error_of_ours(error: Exception) -> None:
    with pytest.raises(type(error)), unavailable_on_throttling():
        raise error
