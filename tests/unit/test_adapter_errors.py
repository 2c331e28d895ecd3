"""One error mapping for every Google adapter (nbaops.adapters.errors)."""

from __future__ import annotations

from nbaops.adapters.errors import NotFoundError, PermissionDeniedError, typed_as
from nbaops.errors import CloudRunError, WarehouseError, first_line


def test_an_adapter_error_is_also_the_typed_error_and_keeps_its_name() -> None:
    """Callers catch the adapter's class; a preflight tells a proved 403/404 (FAIL) from
    an undetermined failure (ERROR) by the typed class. The combined class printed as
    'WarehouseErrorPermissionDeniedError: ...' in every check line."""
    denied = typed_as(PermissionDeniedError, WarehouseError)("BigQuery query: denied")
    assert isinstance(denied, WarehouseError) and isinstance(denied, PermissionDeniedError)
    assert first_line(denied, typed=True) == "WarehouseError: BigQuery query: denied"
    assert typed_as(PermissionDeniedError, WarehouseError) is type(denied)  # made once
    missing = typed_as(NotFoundError, CloudRunError)("gone")
    assert isinstance(missing, CloudRunError) and isinstance(missing, NotFoundError)
    assert first_line(missing, typed=True) == "CloudRunError: gone"
    assert typed_as(NotFoundError, NotFoundError) is NotFoundError
