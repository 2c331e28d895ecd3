"""The stand-in's service accounts and who may mint tokens for them (IAM Credentials).

IAM Credentials mints a token for a service account only when the account exists and the
caller holds the method's permission on it: ``iam.serviceAccounts.getOpenIdToken``
(``generateIdToken``) or ``iam.serviceAccounts.getAccessToken`` (``generateAccessToken``),
both in ``roles/iam.serviceAccountTokenCreator``; each delegate of a chain needs
``iam.serviceAccounts.implicitDelegation`` on the next account (generateIdToken reference,
cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateIdToken).
Basic roles (Owner) do not include these permissions, so nothing is granted implicitly.

File ``home/standin-iam.json`` (kept with the stand-in's other state, written under its
lock): ``{"accounts": {EMAIL: {ROLE: [MEMBER, …]}}}``, members as IAM writes them
(``user:…``, ``serviceAccount:EMAIL``, ``principal://…``). Without the file the stand-in
holds :func:`default_accounts`: the local profile's invoker account (``nbaops.yaml``
``profiles.local.invoker_service_account``) and the metadata server's runtime account,
each with the local user (the stand-in's ``authorized_user``) as token creator; a sandbox
build writes the file from the configured invoker (:func:`seed_accounts`).

Replies have Google's shapes:

- 404 ``NOT_FOUND`` "Not found; Gaia id not found for email EMAIL" for an account that does
  not exist (IAM's reply for a missing account, e.g. hashicorp/terraform-provider-google#9249
  for ``N-compute@developer.gserviceaccount.com``).
- 403 ``PERMISSION_DENIED`` "Permission 'iam.serviceAccounts.getOpenIdToken' denied on
  resource (or it may not exist)." with a ``google.rpc.ErrorInfo`` detail (reason
  ``IAM_PERMISSION_DENIED``, domain ``iam.googleapis.com``, metadata ``permission``), as
  IAM Credentials answers (google-github-actions/auth#340 shows the getAccessToken form).
  Google may answer a missing account with this 403 too (the ``-`` project wildcard,
  which IAM Credentials requires, "can cause response messages to contain misleading error
  codes", IAM ``serviceAccounts.get`` reference); the stand-in always tells them apart.

Tests and the sandbox take a permission away with :func:`revoke`, remove an account with
:func:`remove_account` (or inject the ``iam-denied`` / ``iam-not-found`` API faults of
:mod:`nbaops.local.api_faults`, answered here with the same replies).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

from nbaops.local import api_faults
from nbaops.local.cloudrun_state import StandInApiError
from nbaops.local.state_files import damaged, locked, read_json, write_json_atomic

IAM_NAME = "standin-iam.json"
TOKEN_CREATOR = "roles/iam.serviceAccountTokenCreator"
OPENID_TOKEN_CREATOR = "roles/iam.serviceAccountOpenIdTokenCreator"
GET_OPENID_TOKEN = "iam.serviceAccounts.getOpenIdToken"
GET_ACCESS_TOKEN = "iam.serviceAccounts.getAccessToken"
IMPLICIT_DELEGATION = "iam.serviceAccounts.implicitDelegation"
ROLE_PERMISSIONS = {
    TOKEN_CREATOR: frozenset(
        {
            GET_ACCESS_TOKEN,
            GET_OPENID_TOKEN,
            IMPLICIT_DELEGATION,
            "iam.serviceAccounts.signBlob",
            "iam.serviceAccounts.signJwt",
        }
    ),
    OPENID_TOKEN_CREATOR: frozenset({GET_OPENID_TOKEN}),
}
# The stand-in's authorized_user (nbaops.adapters.credentials.LOCAL_CLIENT_ID; the refresh
# grant's access token names ``user:CLIENT_ID``).
LOCAL_USER = "user:nbaops-local.apps.googleusercontent.com"
# profiles.local.invoker_service_account in nbaops.yaml (tests check they agree)
LOCAL_INVOKER = "nbaops-invoker@nbaops-local.iam.gserviceaccount.com"
# The service account a workload on Cloud Run / GCE runs as, seen through the metadata server.
METADATA_ACCOUNT = "nbaops-runtime@nbaops-local.iam.gserviceaccount.com"

# Every form a service account's email takes (IAM docs, "Service accounts" / "Service agents"):
_SA_FORMS = (
    # user-managed: NAME@PROJECT_ID.iam (6-30 chars; a domain-scoped project adds its
    # domain), and service agents: service-N@gcp-sa-API.iam, service-org-N@…
    r"[a-z][a-z0-9-]{4,61}[a-z0-9]@[a-z0-9][a-z0-9.-]*[a-z0-9]\.iam\.gserviceaccount\.com",
    r"[0-9]+-compute@developer\.gserviceaccount\.com",  # Compute Engine default
    r"[a-z][a-z0-9.-]{4,61}[a-z0-9]@appspot\.gserviceaccount\.com",  # App Engine default
    r"[0-9]+@[a-z][a-z0-9-]*\.gserviceaccount\.com",  # N@cloudservices, N@cloudbuild
)
_SA_EMAIL_RE = re.compile(r"^(?:" + "|".join(_SA_FORMS) + r")\Z")

Accounts = dict[str, dict[str, list[str]]]


def is_account_email(email: str) -> bool:
    """Whether ``email`` has the form of a service account's email (any kind)."""
    return _SA_EMAIL_RE.match(email) is not None


def iam_path(home: Path) -> Path:
    return Path(home) / IAM_NAME


def default_accounts(invoker: str | None = LOCAL_INVOKER) -> Accounts:
    """The local profile's accounts: the invoker and the runtime account, each with the
    local user as token creator."""
    emails = [e for e in (invoker, METADATA_ACCOUNT) if e]
    return {email: {TOKEN_CREATOR: [LOCAL_USER]} for email in emails}


def load_accounts(home: Path) -> Accounts:
    """The accounts and their bindings (:func:`default_accounts` without the file).

    Raises:
        DamagedStateError: the file is not ``{"accounts": {EMAIL: {ROLE: [MEMBER]}}}``.
    """
    path = iam_path(home)
    data = read_json(path, None)
    if data is None:
        return default_accounts()
    accounts = data.get("accounts") if isinstance(data, dict) else None
    if not isinstance(accounts, dict) or not all(
        isinstance(bindings, dict)
        and all(
            isinstance(m, list) and all(isinstance(x, str) for x in m) for m in bindings.values()
        )
        for bindings in accounts.values()
    ):
        raise damaged(path, 'not {"accounts": {EMAIL: {ROLE: [MEMBER, ...]}}}')
    return accounts


def _save(home: Path, accounts: Accounts) -> None:
    write_json_atomic(iam_path(home), {"accounts": accounts})


def _check_email(email: str) -> None:
    if not is_account_email(email):
        raise ValueError(f"{email!r} is not a service account's email")


def seed_accounts(home: Path, accounts: Mapping[str, Mapping[str, Sequence[str]]]) -> None:
    """Replace every account with ``accounts`` (EMAIL -> ROLE -> members).

    Raises:
        ValueError: an email that is not a service account's, or an unknown role.
    """
    for email, bindings in accounts.items():
        _check_email(email)
        unknown = set(bindings) - set(ROLE_PERMISSIONS)
        if unknown:
            raise ValueError(f"unknown role(s) {sorted(unknown)}; known: {list(ROLE_PERMISSIONS)}")
    with locked(home):
        _save(home, {e: {r: list(m) for r, m in b.items()} for e, b in accounts.items()})


def grant(home: Path, email: str, member: str, role: str = TOKEN_CREATOR) -> None:
    """Grant ``member`` ``role`` on ``email`` (the account is created when missing)."""
    _check_email(email)
    if role not in ROLE_PERMISSIONS:
        raise ValueError(f"unknown role {role!r}; known: {list(ROLE_PERMISSIONS)}")
    with locked(home):
        accounts = load_accounts(home)
        members = accounts.setdefault(email, {}).setdefault(role, [])
        if member not in members:
            members.append(member)
        _save(home, accounts)


def revoke(home: Path, email: str, member: str | None = None, role: str | None = None) -> None:
    """Take ``role`` (None: every role) on ``email`` away from ``member`` (None: everyone);
    the account stays."""
    with locked(home):
        accounts = load_accounts(home)
        for name, members in accounts.get(email, {}).items():
            if role is None or name == role:
                members[:] = [] if member is None else [m for m in members if m != member]
        _save(home, accounts)


def add_account(home: Path, email: str) -> None:
    """Create the account with no bindings (kept as it is when it exists): a key's own
    account, whose JWT grants and self-signed tokens the stand-in takes only while it
    exists."""
    _check_email(email)
    with locked(home):
        accounts = load_accounts(home)
        accounts.setdefault(email, {})
        _save(home, accounts)


def exists(home: Path, email: str) -> bool:
    """Whether the stand-in holds the service account ``email``."""
    return email in load_accounts(home)


def remove_account(home: Path, email: str) -> None:
    """Delete the account (IAM Credentials then answers 404 for it)."""
    with locked(home):
        accounts = load_accounts(home)
        accounts.pop(email, None)
        _save(home, accounts)


def account_not_found(email: str) -> StandInApiError:
    return StandInApiError(404, "NOT_FOUND", f"Not found; Gaia id not found for email {email}")


def permission_denied(permission: str) -> StandInApiError:
    return StandInApiError(
        403,
        "PERMISSION_DENIED",
        f"Permission '{permission}' denied on resource (or it may not exist).",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "IAM_PERMISSION_DENIED",
                "domain": "iam.googleapis.com",
                "metadata": {"permission": permission},
            }
        ],
    )


def _holds(accounts: Accounts, member: str, email: str, permission: str) -> bool:
    bindings = accounts.get(email, {})
    return any(
        member in members and permission in ROLE_PERMISSIONS.get(role, ())
        for role, members in bindings.items()
    )


def authorize(
    home: Path, caller: str, email: str, permission: str, delegates: Sequence[str] = ()
) -> None:
    """Allow ``caller`` to mint for ``email`` through ``delegates``, or raise Google's reply.

    The chain is caller -> delegates… -> email: each link holds
    ``iam.serviceAccounts.implicitDelegation`` on the next delegate, the last one
    ``permission`` on ``email``. An injected ``iam-not-found`` / ``iam-denied`` fault
    answers as if the account were gone / the permission revoked.

    Raises:
        StandInApiError: 404 NOT_FOUND (an account of the chain does not exist), 403
            PERMISSION_DENIED (a link lacks its permission).
    """
    fault = api_faults.take_fault(home, "iam", service=None, method="POST")
    kind = fault["kind"] if fault else None
    accounts = load_accounts(home)
    chain = [*delegates, email]
    for account in chain:
        if kind == "iam-not-found" or account not in accounts:
            raise account_not_found(account)
    member = caller
    for position, account in enumerate(chain, start=1):
        # by position, not by email: a delegate naming the target is still a delegate
        needed = permission if position == len(chain) else IMPLICIT_DELEGATION
        if kind == "iam-denied" or not _holds(accounts, member, account, needed):
            raise permission_denied(needed)
        member = f"serviceAccount:{account}"
