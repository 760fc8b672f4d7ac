"""local/gateway.py builds on samcli internals: LocalApigwService's private methods and attributes, and a module
global of samcli.local.apigw.local_apigw_service that it replaces. Each must still be there, shaped as
local/gateway.py expects, in the installed aws-sam-cli: an upgrade that changes one fails here, saying what
local/gateway.py needs from it, instead of silently changing what `make run` does."""

import dis
import inspect
from types import CodeType, FunctionType
from typing import Any

import pytest
from samcli.lib.providers.provider import Api
from samcli.local.apigw import local_apigw_service
from samcli.local.apigw.local_apigw_service import LocalApigwService
from werkzeug.serving import WSGIRequestHandler

from local import gateway
from local.gateway import SAMCLI_ATTRIBUTES, SAMCLI_OVERRIDDEN_METHODS, LocalApiGateway

# The globals of samcli's module that local/gateway.py replaced with classes of its own (importing it did).
REPLACED_GLOBALS: dict[str, type] = {
    name: value
    for name, value in vars(local_apigw_service).items()
    if isinstance(value, type) and value.__module__ == gateway.__name__
}
REPLACED_METHODS = [
    (name, method) for name, replacement in REPLACED_GLOBALS.items() for method in vars(replacement) if method[0] != "_"
]
# How many extra positional arguments stand for "any" when samcli's method takes *args.
_ANY_ARGUMENTS = 3


def _parameters(function: Any) -> list[tuple[str, Any]]:
    return [(parameter.name, parameter.kind) for parameter in inspect.signature(function).parameters.values()]


def _positional_counts(signature: inspect.Signature) -> range:
    """How many positional arguments a call to a function of `signature` may pass."""
    parameters = signature.parameters.values()
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in positional if p.default is p.empty]
    extra = _ANY_ARGUMENTS if any(p.kind is p.VAR_POSITIONAL for p in parameters) else 0
    return range(len(required), len(positional) + extra + 1)


def _accepts(signature: inspect.Signature, count: int) -> bool:
    try:
        signature.bind(*[None] * count)
    except TypeError:
        return False
    return True


def _globals_read(code: CodeType) -> set[str]:
    """The global names `code` (and the functions defined in it) look up."""
    names = {str(step.argval) for step in dis.get_instructions(code) if step.opname == "LOAD_GLOBAL"}
    for constant in code.co_consts:
        if isinstance(constant, CodeType):
            names |= _globals_read(constant)
    return names


def _globals_read_by(cls: type) -> set[str]:
    """The globals of its module that the methods of `cls` look up."""
    methods = [inspect.unwrap(getattr(cls, name)) for name in vars(cls)]
    return set().union(*(_globals_read(method.__code__) for method in methods if isinstance(method, FunctionType)))


def _samcli_base(replacement: type) -> type:
    return next(base for base in replacement.__mro__[1:] if base.__module__.startswith("samcli."))


class _Runner:
    """All LocalApigwService's constructor asks of a Lambda runner."""

    @staticmethod
    def is_debugging() -> bool:
        return False


@pytest.mark.parametrize("name", SAMCLI_OVERRIDDEN_METHODS)
def test_every_method_the_gateway_overrides_is_samclis_with_the_same_parameters(name: str) -> None:
    # Given a LocalApigwService method that local/gateway.py's LocalApiGateway overrides
    override = getattr(LocalApiGateway, name)
    # When samcli's own is looked up
    samclis = getattr(LocalApigwService, name, None)
    # Then it is there, taking the parameters the override takes (and passes on to it)
    assert callable(samclis), (
        f"samcli's LocalApigwService.{name} is gone: local/gateway.py's LocalApiGateway overrides it, "
        "so samcli no longer calls the override"
    )
    assert _parameters(samclis) == _parameters(override), (
        f"samcli's LocalApigwService.{name}{inspect.signature(samclis)} changed: local/gateway.py's LocalApiGateway "
        f"overrides it as {name}{inspect.signature(override)}, is called as samcli's and calls samcli's"
    )


def test_every_samcli_method_the_gateway_redefines_is_declared_as_overridden() -> None:
    # Given the methods LocalApiGateway defines itself
    own = {name for name in vars(LocalApiGateway) if not name.startswith("__")}
    # When those that LocalApigwService also has are taken
    redefined = {name for name in own if hasattr(LocalApigwService, name)}
    # Then each is declared, and each declared one is LocalApiGateway's
    assert redefined <= set(SAMCLI_OVERRIDDEN_METHODS), (
        f"local/gateway.py's LocalApiGateway overrides {sorted(redefined - set(SAMCLI_OVERRIDDEN_METHODS))} of "
        "samcli's LocalApigwService: add them to SAMCLI_OVERRIDDEN_METHODS"
    )
    assert set(SAMCLI_OVERRIDDEN_METHODS) <= own, (
        f"SAMCLI_OVERRIDDEN_METHODS names {sorted(set(SAMCLI_OVERRIDDEN_METHODS) - own)}, "
        "which local/gateway.py's LocalApiGateway does not define"
    )


@pytest.mark.parametrize("name", SAMCLI_ATTRIBUTES)
def test_every_samcli_attribute_the_gateway_reads_is_set_by_samcli(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given samcli's own service (its create() sets werkzeug's protocol for the process: restored after the test)
    monkeypatch.setattr(WSGIRequestHandler, "protocol_version", WSGIRequestHandler.protocol_version)
    service = LocalApigwService(api=Api(), lambda_runner=_Runner(), port=0, host="127.0.0.1", stderr=object())
    # When it creates its Flask app
    service.create()
    # Then the attribute local/gateway.py reads is set
    assert getattr(service, name, None) is not None, (
        f"samcli's LocalApigwService no longer sets self.{name} (in __init__ or create()): "
        "local/gateway.py's LocalApiGateway reads it"
    )


def test_the_gateway_replaces_a_samcli_global() -> None:
    assert "ServiceErrorResponses" in REPLACED_GLOBALS, (
        "local/gateway.py no longer replaces samcli.local.apigw.local_apigw_service.ServiceErrorResponses: "
        "samcli's own error responses (502 for a missing route, ...) are back"
    )


@pytest.mark.parametrize("name", REPLACED_GLOBALS)
def test_samclis_service_reads_each_replaced_global_from_its_module(name: str) -> None:
    # Given a global of samcli's module that local/gateway.py replaced
    # When the globals LocalApigwService's methods look up are listed
    read = _globals_read_by(LocalApigwService)
    # Then the replaced one is among them: the replacement is what samcli uses
    assert name in read, (
        f"samcli's LocalApigwService no longer looks up {name} as a global of samcli.local.apigw.local_apigw_service: "
        f"local/gateway.py replaces that global with {REPLACED_GLOBALS[name].__qualname__}, which samcli would not use"
    )


@pytest.mark.parametrize(("name", "method"), REPLACED_METHODS, ids=[f"{n}.{m}" for n, m in REPLACED_METHODS])
def test_every_method_of_a_replaced_global_is_samclis_and_takes_samclis_arguments(name: str, method: str) -> None:
    # Given a static method of local/gateway.py's replacement of a samcli global
    replacement = REPLACED_GLOBALS[name]
    samcli_class = _samcli_base(replacement)
    # When samcli's own is looked up
    samclis = inspect.getattr_static(samcli_class, method, None)
    # Then it is there, static as samcli calls it, and the replacement accepts whatever samcli may pass
    assert isinstance(samclis, staticmethod), (
        f"samcli's {samcli_class.__qualname__}.{method} is gone or no longer static: local/gateway.py's "
        f"{replacement.__qualname__} overrides it, and LocalApigwService calls it as {name}.{method}(...)"
    )
    theirs, ours = inspect.signature(samclis.__func__), inspect.signature(getattr(replacement, method))
    assert all(_accepts(ours, count) for count in _positional_counts(theirs)), (
        f"samcli's {samcli_class.__qualname__}.{method}{theirs} changed: local/gateway.py's "
        f"{replacement.__qualname__}.{method}{ours} does not take every call samcli may make"
    )
