"""The stand-in's identity side: OAuth/STS token endpoints, IAM Credentials and the invoker check.

Self-contained (plain functions of ``home`` and the request) so the stand-in server only
routes to it. Endpoints, with the shapes google-auth and ``google.cloud.iam_credentials_v1``
send and read:

- ``POST /token`` (OAuth 2.0 token endpoint, form-encoded): ``grant_type=refresh_token``
  (``authorized_user`` credentials) and the JWT-bearer grant (``service_account``
  credentials; an assertion carrying ``target_audience`` asks for an ID token, as
  ``google.oauth2.service_account.IDTokenCredentials`` does; its ``aud`` must be
  :data:`TOKEN_AUDIENCE`, its issuer an account the stand-in holds). Replies
  ``access_token`` / ``id_token``.
- ``GET /computeMetadata/v1/instance/service-accounts/default/identity?audience=A``
  (the metadata server, for ``compute_engine`` credentials): the raw ID token.
- ``POST /v1/token`` (STS token exchange, ``external_account`` credentials): replies
  ``access_token``.
- ``POST /v1/projects/-/serviceAccounts/EMAIL:generateIdToken`` and ``:generateAccessToken``
  (IAM Credentials v1): need ``Authorization: Bearer <access token issued here>`` (or a
  key's self-signed JWT for this API, :func:`_self_signed_principal`), an
  account that exists and the caller's permission on it (:mod:`nbaops.local.iam_accounts`:
  else 404 NOT_FOUND / 403 PERMISSION_DENIED as Google answers); reply ``{"token"}`` /
  ``{"accessToken", "expireTime"}`` (``scope`` required, the token lives the requested
  ``lifetime``, at most 1 h).

Tokens are JWTs signed HS256 with a per-state-folder key (``standin-iam.key``), so the
stand-in can verify its own ID tokens in :func:`invoker_denial`: a request to a service or
tag URL without an ID token gets 403, one whose token is invalid or whose ``aud`` is not
the service URL (or one of the service's ``customAudiences``, or the tag URL itself) gets
401, as Cloud Run's invoker check does
("an audience claim matching the receiving service's *.run.app URL", Cloud Run docs,
configuring/custom-audiences; custom audiences apply to all serving revisions).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from nbaops.fsutil import create_once
from nbaops.local import iam_accounts
from nbaops.local.cloudrun_state import StandInApiError, invalid_argument, not_found
from nbaops.local.iam_accounts import METADATA_ACCOUNT as METADATA_ACCOUNT

KEY_NAME = "standin-iam.key"
ISSUER = "https://accounts.google.com"
TOKEN_LIFETIME_S = 3600
_IAM_PATH_RE = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/serviceAccounts/(?P<email>[^/:]+)"
    r":(?P<method>generateIdToken|generateAccessToken)\Z"
)
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# A JWT-bearer assertion's aud: "When making an access token request this value is always
# https://oauth2.googleapis.com/token" (developers.google.com/identity/protocols/oauth2/
# service-account); google-auth signs it whatever the credential's token_uri
# (google/oauth2/service_account.py, _GOOGLE_OAUTH2_TOKEN_ENDPOINT). Another audience, the
# URL the assertion was posted to included (a proxy's, Private Service Connect's), is
# refused: 400 invalid_grant "Invalid JWT: Failed audience check."
# (GoogleCloudDataproc/hadoop-connectors#822, googleapis/google-cloud-python#15228).
TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
FAILED_AUDIENCE = "Invalid JWT: Failed audience check."
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key(home: Path) -> bytes:
    """The state folder's token key, created once (shared by every process of ``home``)."""
    return create_once(Path(home) / KEY_NAME, secrets.token_bytes(32))


def mint(
    home: Path,
    claims: dict[str, Any],
    *,
    now: float | None = None,
    lifetime_s: int = TOKEN_LIFETIME_S,
) -> str:
    """A signed JWT with ``iat``/``exp`` added."""
    issued = int(time.time() if now is None else now)
    payload = {"iss": ISSUER, "iat": issued, "exp": issued + lifetime_s, **claims}
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(payload, sort_keys=True).encode())
    signature = hmac.new(signing_key(home), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{_b64(signature.digest())}"


def verify(home: Path, token: str) -> dict[str, Any] | None:
    """The claims of a token this stand-in issued and that has not expired, else None."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    expected = hmac.new(signing_key(home), f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256)
    try:
        if not hmac.compare_digest(_unb64(parts[2]), expected.digest()):
            return None
        claims = _unverified_claims(token)
    except (ValueError, StandInApiError):
        return None
    return claims if float(claims.get("exp", 0)) > time.time() else None


def _unverified_claims(assertion: str) -> dict[str, Any]:
    """The payload of a client-signed JWT assertion (the stand-in holds no client keys)."""
    parts = assertion.split(".")
    try:
        claims = json.loads(_unb64(parts[1])) if len(parts) == 3 else None
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        raise invalid_argument("invalid_grant: malformed assertion")
    return claims


def _access_token(home: Path, principal: str) -> dict[str, Any]:
    return {
        "access_token": mint(home, {"sub": principal, "kind": "access"}),
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_S,
    }


def _id_token(home: Path, email: str, audience: str, include_email: bool = True) -> str:
    claims: dict[str, Any] = {"aud": audience, "sub": email, "kind": "id", "azp": email}
    if include_email:
        claims.update(email=email, email_verified=True)
    return mint(home, claims)


def metadata_account_info() -> dict[str, Any]:
    """``instance/service-accounts/default/?recursive=true``."""
    return {
        "email": METADATA_ACCOUNT,
        "aliases": ["default"],
        "scopes": ["https://www.googleapis.com/auth/cloud-platform"],
    }


def metadata_id_token(home: Path, audience: str) -> str:
    """The metadata server's ``instance/service-accounts/default/identity`` answer."""
    return _id_token(home, METADATA_ACCOUNT, audience)


def oauth_token(home: Path, form: dict[str, str]) -> dict[str, Any]:
    """``POST /token``: refresh-token and JWT-bearer grants."""
    grant = form.get("grant_type", "")
    if grant == "refresh_token":
        # Google's words (openid/AppAuth-iOS#226, ciaranj/node-oauth#85)
        if not form.get("client_id"):
            raise invalid_argument("invalid_request: Could not determine client ID from request.")
        if not form.get("refresh_token"):
            raise invalid_argument("invalid_request: Missing required parameter: refresh_token")
        return _access_token(home, f"user:{form['client_id']}")
    if grant == JWT_BEARER:
        claims = _unverified_claims(form.get("assertion", ""))
        email = str(claims.get("iss", ""))
        if not _is_account(home, email):
            # Google's answer for an account it cannot find, a deleted one's key included
            # (googleapis/google-cloud-php#3622)
            raise invalid_argument("invalid_grant: Invalid grant: account not found")
        if claims.get("aud") != TOKEN_AUDIENCE:
            raise invalid_argument(f"invalid_grant: {FAILED_AUDIENCE}")
        _check_assertion_time(claims)
        if claims.get("target_audience"):
            return {"id_token": _id_token(home, email, str(claims["target_audience"]))}
        return _access_token(home, f"serviceAccount:{email}")
    # Google's words (googleapis/google-api-ruby-client#862: "Invalid grant_type: " for none)
    raise invalid_argument(f"unsupported_grant_type: Invalid grant_type: {grant}")


# Google's reply to an assertion outside its time rules (HTTP 400, RFC 6749 5.2 shape),
# e.g. googleapis/google-api-php-client#1429, a-marenkov/gsheets#96.
SHORT_LIVED = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable "
    "timeframe. Check your iat and exp values in the JWT claim."
)
ASSERTION_SKEW_S = 60  # how far ahead of the stand-in's clock an iat may be


def _check_assertion_time(claims: dict[str, Any]) -> None:
    """Refuse a JWT-bearer assertion as Google's token endpoint does: ``exp`` and ``iat``
    are required, ``exp`` must not have passed (RFC 7523 3: "The authorization server
    MUST reject any JWT with an expiration time that has passed"), and ``exp`` may be at
    most 1 h after ``iat`` ("exp ... This value has a maximum of 1 hour after the issued
    time", developers.google.com/identity/protocols/oauth2/service-account). google-auth
    signs ``iat`` = now, ``exp`` = now + 3600 (``service_account._DEFAULT_TOKEN_LIFETIME_SECS``).
    An ``iat`` in the future beyond a small skew is refused too (Google's "reasonable
    timeframe"; its exact allowance is not published).

    Raises:
        StandInApiError: 400 ``invalid_grant`` with Google's description.
    """
    moment = time.time()
    try:
        issued, expires = float(claims["iat"]), float(claims["exp"])
    except (KeyError, TypeError, ValueError):
        raise invalid_argument(f"invalid_grant: {SHORT_LIVED}") from None
    if (
        not math.isfinite(issued + expires)  # NaN (json reads it) passes every comparison
        or expires <= moment
        or expires - issued > TOKEN_LIFETIME_S
        or issued > moment + ASSERTION_SKEW_S
    ):
        raise invalid_argument(f"invalid_grant: {SHORT_LIVED}")


def sts_token(home: Path, form: dict[str, str]) -> dict[str, Any]:
    """``POST /v1/token``: Workload Identity Federation token exchange."""
    if form.get("grant_type") != TOKEN_EXCHANGE or not form.get("subject_token"):
        raise invalid_argument("invalid_request: token exchange")
    audience = form.get("audience", "")
    reply = _access_token(home, f"principal://{audience.removeprefix('//')}")
    reply["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token"
    return reply


def _is_account(home: Path, email: str) -> bool:
    """A service account's email, of an account the stand-in holds (Google verifies a
    key's signature against its account's public keys: none without the account)."""
    return iam_accounts.is_account_email(email) and iam_accounts.exists(home, email)


# A self-signed JWT is a bearer token for one API: its aud "should be
# https://[API_ENDPOINT]/" (AIP-4111), or, instead of aud, a "scope" claim (aip-dev/
# google.aip.dev#761; google/oauth2l#130). google-auth signs IAM Credentials' default host
# whatever the client's api_endpoint (AuthorizedSession(default_host=...) ->
# service_account.Credentials._create_self_signed_jwt("https://iamcredentials.googleapis.com/"))
# and a scope claim instead when the credential has scopes, as ADC's do.
IAM_CREDENTIALS_AUDIENCE = "https://iamcredentials.googleapis.com/"
# The scopes a "scope" claim needs one of to call IAM Credentials: its published scope
# (googleapis google/iam/credentials/v1/iamcredentials_v1.yaml, canonical_scopes) and the
# IAM scope google-auth signs into the self-signed JWTs it sends this API itself
# (google/auth/iam.py _IAM_SCOPE, given to an impersonated credential's key source;
# google/oauth2/service_account.py IDTokenCredentials._refresh_with_iam_endpoint).
IAM_CREDENTIALS_SCOPES = frozenset(
    {"https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/iam"}
)


def insufficient_scopes(method: str | None) -> StandInApiError:
    """Google's 403 for a credential whose scopes do not cover the method (the shape its
    front end answers an access token with, e.g. analogdotnow/Analog#296:
    ``ACCESS_TOKEN_SCOPE_INSUFFICIENT`` with the service and the RPC method, when known)."""
    metadata = {"service": "iamcredentials.googleapis.com"}
    if method:
        metadata["method"] = f"google.iam.credentials.v1.IAMCredentials.{method}"
    return StandInApiError(
        403,
        "PERMISSION_DENIED",
        "Request had insufficient authentication scopes.",
        details=[
            {
                "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                "domain": "googleapis.com",
                "metadata": metadata,
            }
        ],
    )


def _self_signed_principal(home: Path, token: str, method: str | None) -> str | None:
    """A service account's self-signed JWT (``iss == sub`` = the email of an account the
    stand-in holds, within its time, for IAM Credentials: its ``aud``, or no ``aud`` and
    a ``scope``).

    Google client libraries send these instead of access tokens for service-account keys
    (``with_always_use_jwt_access``). Google verifies the signature against the account's
    public keys; the stand-in has no key registry, so it checks the claims only.

    Raises:
        StandInApiError: 403 :func:`insufficient_scopes` for a ``scope`` claim naming
            none of :data:`IAM_CREDENTIALS_SCOPES` (a token for another API's scopes).
    """
    try:
        claims = _unverified_claims(token)
    except StandInApiError:
        return None
    email = str(claims.get("iss", ""))
    if claims.get("sub") != email or not _is_account(home, email):
        return None
    aud = claims.get("aud")
    if aud != IAM_CREDENTIALS_AUDIENCE and (aud is not None or not claims.get("scope")):
        return None  # a token for another API (or for none) is not this API's credential
    try:  # an assertion's time rules; AIP-4111: exp "must be exactly 3600 seconds later"
        _check_assertion_time(claims)
    except StandInApiError:
        return None
    scope = claims.get("scope")
    if scope and not IAM_CREDENTIALS_SCOPES & set(str(scope).split()):
        raise insufficient_scopes(method)
    return f"serviceAccount:{email}"


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header ('' for none, or another
    scheme). The scheme is case-insensitive (RFC 7235 2.1: "It uses a case-insensitive
    token as a means to identify the authentication scheme"; RFC 6750 2.1's Bearer):
    ``bearer x`` is a bearer token, a bare ``x`` is not."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def caller(home: Path, authorization: str | None, method: str | None = None) -> str:
    """The principal behind a bearer access token issued here, or 401 (403 for a
    self-signed JWT whose scopes do not cover IAM Credentials' RPC ``method``)."""
    token = bearer_token(authorization)
    claims = verify(home, token) if token else None
    if claims is None and token:
        principal = _self_signed_principal(home, token, method)
        if principal is not None:
            return principal
    if claims is None or claims.get("kind") != "access":
        raise StandInApiError(
            401,
            "UNAUTHENTICATED",
            "Request had invalid authentication credentials. Expected OAuth 2 access token.",
        )
    return str(claims["sub"])


def is_iam_path(path: str) -> bool:
    return _IAM_PATH_RE.match(path) is not None


def iam_credentials(
    home: Path, path: str, authorization: str | None, body: dict[str, Any]
) -> dict[str, Any]:
    """``POST …/serviceAccounts/EMAIL:generateIdToken|generateAccessToken``."""
    match = _IAM_PATH_RE.match(path)
    if match is None:
        raise not_found(f"no such endpoint: {path}")
    rpc = match.group("method")
    principal = caller(home, authorization, rpc[0].upper() + rpc[1:])
    email = match.group("email")
    if match.group("project") != "-":
        raise invalid_argument("The project must be '-' (projects/-/serviceAccounts/…)")
    delegates = [str(d).rsplit("/", 1)[-1] for d in body.get("delegates") or []]
    if rpc == "generateIdToken":
        audience = body.get("audience")
        if not isinstance(audience, str) or not audience:
            raise invalid_argument("audience is required")
        iam_accounts.authorize(home, principal, email, iam_accounts.GET_OPENID_TOKEN, delegates)
        return {"token": _id_token(home, email, audience, bool(body.get("includeEmail")))}
    lifetime = _lifetime_s(body.get("lifetime"))
    if not body.get("scope"):
        raise invalid_argument("scope is required")
    iam_accounts.authorize(home, principal, email, iam_accounts.GET_ACCESS_TOKEN, delegates)
    now = time.time()
    expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + lifetime))
    claims = {"sub": f"serviceAccount:{email}", "kind": "access"}
    token = mint(home, claims, now=now, lifetime_s=lifetime)
    return {"accessToken": token, "expireTime": expire}


def _lifetime_s(value: Any) -> int:
    """generateAccessToken's ``lifetime`` (a Duration, ``"600s"``) in whole seconds.

    IAM Credentials: "The desired lifetime duration of the access token in seconds. By
    default, the maximum allowed value is 1 hour" (and the default); "Must be set to a value
    less than or equal to 3600" (python-iam GenerateAccessTokenRequest.lifetime), judged on
    the whole Duration, fraction included. ``scope`` is required. The stand-in mints whole
    seconds (a fraction is dropped); Google documents no minimum, so a lifetime under 1 s is
    refused here as one the stand-in cannot mint.

    Raises:
        StandInApiError: 400 for a lifetime that is not a duration of 1 s to 1 h.
    """
    if value in (None, ""):
        return TOKEN_LIFETIME_S
    match = re.fullmatch(r"\d+(?:\.\d{1,9})?s", str(value))
    seconds = Decimal(str(value).removesuffix("s")) if match else Decimal(0)
    if not 1 <= seconds <= TOKEN_LIFETIME_S:
        raise invalid_argument(
            f"lifetime {value!r}: must be a duration of 1s to {TOKEN_LIFETIME_S}s"
        )
    return int(seconds)


def invoker_denial(
    home: Path, authorization: str | None, audiences: list[str], invokers: list[str] | None = None
) -> tuple[int, str] | None:
    """Why a request to a service URL is refused, as (HTTP status, reason); None = allowed.

    Like Cloud Run: no token → 403; a token that is invalid, expired or audienced for
    another URL → 401 (a wrong custom-host audience "is rejected with 401 Unauthorized",
    GoogleCloudPlatform/cloud-networking-solutions#78); a valid token of a caller without
    ``run.routes.invoke`` → 403. ``invokers``: the emails holding ``roles/run.invoker``
    (a service's private ``_invokers``); None = every authenticated caller.
    """
    token = bearer_token(authorization)
    if not token:
        return 403, "no ID token: the request has no Authorization: Bearer header"
    claims = verify(home, token)
    if claims is None or claims.get("kind") != "id":
        return 401, "the bearer token is not a valid, unexpired ID token"
    if claims.get("aud") not in audiences:
        return 401, f"ID token audience {claims.get('aud')!r} is not one of {audiences}"
    if invokers is not None and claims.get("email") not in invokers:
        return 403, f"{claims.get('email')} does not have run.routes.invoke on this service"
    return None
