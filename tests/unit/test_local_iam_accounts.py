"""The IAM stand-in's delegation chain: caller -> delegates... -> target."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbaops.local import iam_accounts
from nbaops.local.cloudrun_state import StandInApiError

TARGET = "nbaops-target@nbaops-local.iam.gserviceaccount.com"
CALLER = "serviceAccount:nbaops-caller@nbaops-local.iam.gserviceaccount.com"


def test_a_delegate_equal_to_the_target_needs_implicit_delegation(tmp_path: Path) -> None:
    """Each delegate link needs iam.serviceAccounts.implicitDelegation on the next account
    ("Each service account must be granted the roles/iam.serviceAccountTokenCreator role on
    its next service account in the chain", GenerateIdTokenRequest.delegates). A delegate
    whose email was the target's was checked for the target permission instead, so a caller
    holding only getOpenIdToken on the target passed through a chain it may not use."""
    iam_accounts.grant(tmp_path, TARGET, CALLER, iam_accounts.OPENID_TOKEN_CREATOR)
    iam_accounts.grant(
        tmp_path, TARGET, f"serviceAccount:{TARGET}", iam_accounts.OPENID_TOKEN_CREATOR
    )
    iam_accounts.authorize(tmp_path, CALLER, TARGET, iam_accounts.GET_OPENID_TOKEN)
    with pytest.raises(StandInApiError) as refused:
        iam_accounts.authorize(
            tmp_path, CALLER, TARGET, iam_accounts.GET_OPENID_TOKEN, delegates=[TARGET]
        )
    assert refused.value.code == 403
    assert iam_accounts.IMPLICIT_DELEGATION in str(refused.value)
    iam_accounts.grant(tmp_path, TARGET, CALLER)  # roles/iam.serviceAccountTokenCreator
    iam_accounts.authorize(
        tmp_path, CALLER, TARGET, iam_accounts.GET_OPENID_TOKEN, delegates=[TARGET]
    )
