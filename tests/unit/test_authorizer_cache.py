"""The dev server's stand-in for API Gateway's authorizer cache (local.gateway.AuthorizerCache)."""

from local.gateway import AuthorizerCache
from local.template import AuthorizerCaching

CONTEXT = {"orgId": "org-a", "role": "member", "principalId": "org-a"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache_with(clock: Clock, ttl_seconds: int = 300) -> AuthorizerCache:
    return AuthorizerCache({"ApiKeyAuthorizer": AuthorizerCaching(("Authorization",), ttl_seconds)}, clock)


def test_an_answer_is_reused_until_its_ttl_has_passed() -> None:
    # Given an answer cached for a key at t=1000, with a TTL of 300 s
    clock = Clock()
    cache = cache_with(clock)
    key = cache.key("ApiKeyAuthorizer", {"Authorization": "Bearer k"})
    assert key is not None
    cache.put(key, CONTEXT)
    # When it is looked up just before and at the end of the TTL
    clock.now = 1299.9
    before = cache.get(key)
    clock.now = 1300.0
    after = cache.get(key)
    # Then it answers before, and not after
    assert before == CONTEXT
    assert after is None


def test_the_key_is_the_identity_header_whatever_the_case_of_its_name() -> None:
    # Given the same API key sent as "Authorization" and as "authorization"
    cache = cache_with(Clock())
    # Then both are the same cache key
    assert cache.key("ApiKeyAuthorizer", {"authorization": "Bearer k"}) == cache.key(
        "ApiKeyAuthorizer", {"Authorization": "Bearer k"}
    )


def test_a_request_without_the_identity_header_is_never_cached() -> None:
    # Given no Authorization header, then there is no key (the authorizer, or a 401, decides every time)
    assert cache_with(Clock()).key("ApiKeyAuthorizer", {"Host": "x"}) is None


def test_an_authorizer_with_ttl_zero_is_never_cached() -> None:
    # Given ReauthorizeEvery: 0, then there is no key
    assert cache_with(Clock(), ttl_seconds=0).key("ApiKeyAuthorizer", {"Authorization": "Bearer k"}) is None


def test_a_cached_answer_cannot_be_changed_through_what_get_returns() -> None:
    # Given a cached answer, changed by the caller of get
    cache = cache_with(Clock())
    key = cache.key("ApiKeyAuthorizer", {"Authorization": "Bearer k"})
    assert key is not None
    cache.put(key, CONTEXT)
    answer = cache.get(key)
    assert answer is not None
    answer["orgId"] = "org-b"
    # Then the cache still holds the authorizer's answer
    assert cache.get(key) == CONTEXT


def test_a_flush_forgets_every_answer() -> None:
    # Given an answer cached for a key
    cache = cache_with(Clock())
    key = cache.key("ApiKeyAuthorizer", {"Authorization": "Bearer k"})
    assert key is not None
    cache.put(key, CONTEXT)
    # When the cache is flushed (a key was revoked)
    cache.flush()
    # Then the next request is authorized anew
    assert cache.get(key) is None
