"""List paging of the stand-in's Google APIs, as AIP-158 (https://google.aip.dev/158) and
the discovery documents describe it.

- ``pageSize`` is the *maximum* number of items a call returns (run.v2 "Maximum number of
  Services to return in this call"); 0 or absent means the server's default, a value above
  the method's maximum is coerced down to it, and a negative one is rejected with 400
  ``INVALID_ARGUMENT`` (AIP-158; logging.v2 ``pageSize``: "If the value is negative, the
  request is rejected").
- ``nextPageToken`` is present only when more items remain (run.v2 "A token indicating
  there are more items than page_size").
- ``pageToken`` must be a token this server issued for the same list: same parent and
  other arguments (run.v2 "All other parameters must match"; only ``pageSize`` may change,
  AIP-158). Anything else is 400 ``INVALID_ARGUMENT``, never a 500.

Tokens are opaque to clients: URL-safe base64 of a small JSON object. :func:`paginate`
serves offsets into a stably sorted list bound to a ``scope`` (the parent, or a digest of
the request's arguments); Cloud Logging's cursor
(:func:`nbaops.local.log_store.page_cursor`) uses :func:`encode_token` /
:func:`decode_token` directly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from nbaops.local.cloudrun_state import StandInApiError

T = TypeVar("T")

# Cloud Run v2 list pages (the API documents no default): 2 makes the sandbox's listings
# (five services, three revisions each) span several pages. AIP-158 lets a server return
# fewer items than asked, so a client must follow ``nextPageToken`` either way.
RUN_DEFAULT_PAGE_SIZE = 2
RUN_MAX_PAGE_SIZE = 1000


def invalid_field(field: str, message: str) -> StandInApiError:
    """Google's 400 ``INVALID_ARGUMENT`` with a field violation (the field's proto name)."""
    return StandInApiError(400, "INVALID_ARGUMENT", message, [(field, message)])


def scope_digest(*parts: Any) -> str:
    """A short digest of the arguments a token is bound to (JSON-serialisable parts)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def encode_token(fields: Mapping[str, Any]) -> str:
    """An opaque page token carrying ``fields`` (URL-safe base64 of compact JSON)."""
    text = json.dumps(dict(fields), sort_keys=True, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii")


def decode_token(token: str) -> dict[str, Any]:
    """The fields of a token :func:`encode_token` made.

    Raises:
        StandInApiError: 400 ``INVALID_ARGUMENT`` when ``token`` is not one of ours.
    """
    try:
        fields = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
    except (UnicodeError, binascii.Error, ValueError) as exc:
        raise invalid_field("page_token", f"Invalid page token {token!r}.") from exc
    if not isinstance(fields, dict):
        raise invalid_field("page_token", f"Invalid page token {token!r}.")
    return fields


def page_size(raw: Any, *, default: int, maximum: int) -> int:
    """The effective page size of a request's ``pageSize`` (see the module docstring).

    Raises:
        StandInApiError: 400 ``INVALID_ARGUMENT`` for a negative or non-integer value.
    """
    if raw is None or raw == "":
        return default
    try:
        size = int(str(raw))
    except ValueError as exc:
        raise invalid_field("page_size", f"Invalid page size {raw!r}.") from exc
    if size < 0:
        raise invalid_field("page_size", f"Page size must not be negative, got {size}.")
    return min(size, maximum) if size else default


def paginate(
    items: Sequence[T], *, size: int, token: str | None, scope: str
) -> tuple[list[T], str | None]:
    """One page of ``items`` (already in their stable order) and the next page's token.

    ``size`` comes from :func:`page_size`; ``token`` is the request's ``pageToken`` (empty
    for the first page) and must have been issued for the same ``scope``.

    Raises:
        StandInApiError: 400 ``INVALID_ARGUMENT`` for a token this scope did not issue.
    """
    offset = 0
    if token:
        fields = decode_token(token)
        offset = fields.get("offset", -1)
        if fields.get("scope") != scope or type(offset) is not int or offset < 0:
            raise invalid_field("page_token", "The page token does not belong to this request.")
    end = offset + size
    following = encode_token({"offset": end, "scope": scope}) if end < len(items) else None
    return list(items[offset:end]), following


def run_list_page(
    items: Sequence[T], parent: str, query: Mapping[str, list[str]]
) -> tuple[list[T], str | None]:
    """One page of a Cloud Run v2 ``services.list`` / ``revisions.list``.

    run.v2: ``pageSize`` "Maximum number of … to return in this call"; ``pageToken`` "A page
    token received from a previous call … All other parameters must match", so a token is
    bound to the parent and ``showDeleted``. The default page is small on purpose
    (:data:`RUN_DEFAULT_PAGE_SIZE`): the sandbox's listings span pages, so a client reading
    only the first one fails locally, not in prod.

    Raises:
        StandInApiError: 400 ``INVALID_ARGUMENT`` for a negative ``pageSize`` or a token
            not issued for this parent and these arguments.
    """
    size = page_size(
        (query.get("pageSize") or [""])[-1],
        default=RUN_DEFAULT_PAGE_SIZE,
        maximum=RUN_MAX_PAGE_SIZE,
    )
    scope = scope_digest(parent, (query.get("showDeleted") or ["false"])[-1])
    return paginate(items, size=size, token=(query.get("pageToken") or [""])[-1], scope=scope)


def listing(field: str, items: list[dict[str, Any]], token: str | None) -> dict[str, Any]:
    """A List*Response: the items, and ``nextPageToken`` only when more remain."""
    reply: dict[str, Any] = {field: items}
    if token:
        reply["nextPageToken"] = token
    return reply
