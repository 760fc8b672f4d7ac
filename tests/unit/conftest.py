import pytest
from pytest_socket import disable_socket, enable_socket


@pytest.fixture(autouse=True)
def no_network() -> object:
    """Unit tests are pure logic: any socket is a failure."""
    disable_socket()
    yield
    enable_socket()
