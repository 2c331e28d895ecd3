"""The stand-in's list paging (AIP-158): page sizes, opaque tokens bound to their request."""

from __future__ import annotations

import pytest

from nbaops.local import paging
from nbaops.local.cloudrun_state import StandInApiError


def test_page_size_defaults_caps_and_rejects_negatives() -> None:
    assert paging.page_size(None, default=20, maximum=100) == 20
    assert paging.page_size("", default=20, maximum=100) == 20
    assert paging.page_size(0, default=20, maximum=100) == 20  # 0: the server's default
    assert paging.page_size("7", default=20, maximum=100) == 7
    assert paging.page_size(5000, default=20, maximum=100) == 100  # coerced, not refused
    for bad in (-1, "-3", "x"):
        with pytest.raises(StandInApiError) as caught:
            paging.page_size(bad, default=20, maximum=100)
        assert caught.value.code == 400 and caught.value.status == "INVALID_ARGUMENT"
        assert caught.value.violations[0][0] == "page_size"


def test_pages_walk_every_item_once_and_tokens_belong_to_their_scope() -> None:
    items = list(range(7))
    seen, token = [], None
    while True:
        page, token = paging.paginate(items, size=3, token=token, scope="a")
        seen += page
        if token is None:
            break
    assert seen == items
    _, token = paging.paginate(items, size=3, token=None, scope="a")
    assert token and "offset" not in token  # opaque to clients
    for bad, scope in ((token, "b"), ("2", "a"), ("%%%", "a"), (paging.encode_token({}), "a")):
        with pytest.raises(StandInApiError) as caught:
            paging.paginate(items, size=3, token=bad, scope=scope)
        assert caught.value.code == 400 and caught.value.violations[0][0] == "page_token"
    assert paging.scope_digest("p", ["x"]) == paging.scope_digest("p", ["x"])
    assert paging.scope_digest("p", ["x"]) != paging.scope_digest("p", ["y"])
