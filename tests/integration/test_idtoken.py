"""ID tokens for every credential kind, minted against the stand-in, and its invoker check.

Each credential is built from the JSON of GOOGLE_APPLICATION_CREDENTIALS with the
constructors ADC's loader (``google.auth._default``) calls for its ``type``, with its
token/STS/IAM endpoints on 127.0.0.1. What google-auth does per kind (google-auth 2.x):
- ``service_account``: ``service_account.IDTokenCredentials`` signs a JWT with
  ``target_audience`` and exchanges it at the key's ``token_uri`` for an ID token.
- ``impersonated_service_account``: ``impersonated_credentials.IDTokenCredentials`` calls IAM
  Credentials ``generateIdToken`` at a fixed googleapis URL (not switchable), so nbaops
  calls the same method through its adapter, authorized by the source credentials.
- ``compute_engine`` (Cloud Run jobs, GCE): the metadata server's identity endpoint
  (the stand-in serves it; ``_metadata._GCE_METADATA_HOST`` points there).
- ``authorized_user`` and ``external_account``: no ID-token support at all
  (``id_token.fetch_id_token`` refuses them); nbaops calls ``generateIdToken`` for the
  configured invoker account.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from worlds.bounded import outcome_within
from worlds.standin import STANDIN_INVOKER, STANDIN_PROJECT, STANDIN_REGION, standin_prober

from nbaops.adapters.credentials import LOCAL_CLIENT_ID, standin_user_credentials
from nbaops.adapters.errors import CredentialsError, NotFoundError, PermissionDeniedError
from nbaops.adapters.health import HealthProber
from nbaops.adapters.idtoken import IdTokenSource, credential_kind, service_audience
from nbaops.errors import ConfigError
from nbaops.local import iam_accounts, iam_standin, run_urls
from nbaops.local.cloudrun_state import StandInApiError, load_state, save_state, service_name
from nbaops.local.standin import StandIn

SA_EMAIL = "nbaops-ci@nbaops-local.iam.gserviceaccount.com"
TARGET = "nbaops-deployer@nbaops-local.iam.gserviceaccount.com"
AUDIENCE = run_urls.service_url(STANDIN_PROJECT, STANDIN_REGION, "grading-service")
# the external_account's principal after the STS exchange (its pool's provider)
WIF_PRINCIPAL = (
    "principal://iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/gh/"
    "providers/github"
)


@pytest.fixture
def keyed(standin: StandIn) -> StandIn:
    """The stand-in, holding the account of the tests' service-account key (Google takes a
    key's grant or self-signed token only while its account exists)."""
    iam_accounts.add_account(standin.home, SA_EMAIL)
    return standin


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def _private_key_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _service_account_info(server: StandIn, email: str = SA_EMAIL) -> dict[str, Any]:
    return {
        "type": "service_account",
        "project_id": STANDIN_PROJECT,
        "private_key_id": "k1",
        "private_key": _private_key_pem(),
        "client_email": email,
        "client_id": "1234567890",
        "token_uri": f"{server.url}/token",
    }


def _load(info: dict[str, Any]) -> Any:
    from google.auth import identity_pool, impersonated_credentials
    from google.oauth2 import service_account

    scopes = ["https://www.googleapis.com/auth/cloud-platform"]
    if info["type"] == "external_account":
        return identity_pool.Credentials.from_info(info, scopes=scopes)
    if info["type"] == "impersonated_service_account":
        return impersonated_credentials.Credentials.from_impersonated_service_account_info(
            info, scopes=scopes
        )
    return service_account.Credentials.from_service_account_info(info, scopes=scopes)


def _assert_invokes(server: StandIn, tokens: IdTokenSource, email: str) -> None:
    token = tokens.token(AUDIENCE)
    claims = _claims(token)
    assert claims["aud"] == AUDIENCE and claims["email"] == email
    prober = HealthProber(tokens, route=lambda url: run_urls.local_route(server.url, url))
    assert prober.probe(AUDIENCE + "/health").status == 200


@pytest.mark.usefixtures("keyed")
def test_service_account_key_mints_its_own_id_token(standin: StandIn) -> None:
    creds = _load(_service_account_info(standin))
    assert credential_kind(creds) == "service_account"
    tokens = IdTokenSource(creds, invoker_service_account=STANDIN_INVOKER)
    _assert_invokes(standin, tokens, SA_EMAIL)  # itself, not the invoker account
    token_requests = [r for r in StandIn.requests(standin.home) if r["path"] == "/token"]
    assert len(token_requests) == 1  # one JWT-bearer grant with target_audience, no IAM call
    assert not [r for r in StandIn.requests(standin.home) if "generateIdToken" in r["path"]]


def test_a_token_endpoint_that_never_answers_fails_the_mint_within_its_timeout() -> None:
    """A service-account key's own ID token went through google-auth's transport with its
    default 120 s timeout, not the source's ``timeout_s`` (which bounded only the IAM
    path): one silent token endpoint held each probe two minutes."""
    import socket
    from types import SimpleNamespace

    from nbaops.errors import AdapterError

    with socket.socket() as silent:  # accepts connections, never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        endpoint = SimpleNamespace(url=f"http://127.0.0.1:{silent.getsockname()[1]}")
        creds = _load(_service_account_info(endpoint))  # type: ignore[arg-type]
        tokens = IdTokenSource(creds, timeout_s=1)
        error = outcome_within(lambda: tokens.token(AUDIENCE), 20, "the mint")
    assert isinstance(error, AdapterError) and "\n" not in str(error), error


@pytest.mark.usefixtures("keyed")
def test_impersonated_credentials_mint_for_the_impersonated_account(standin: StandIn) -> None:
    iam_accounts.grant(standin.home, TARGET, f"serviceAccount:{SA_EMAIL}")
    info = {
        "type": "impersonated_service_account",
        "service_account_impersonation_url": (
            f"{standin.url}/v1/projects/-/serviceAccounts/{TARGET}:generateAccessToken"
        ),
        "delegates": [],
        "source_credentials": _service_account_info(standin),
    }
    creds = _load(info)
    assert credential_kind(creds) == "impersonated"
    tokens = IdTokenSource(creds, iam_endpoint=standin.url)
    assert tokens.target_account() == TARGET
    _assert_invokes(standin, tokens, TARGET)
    paths = [r["path"] for r in StandIn.requests(standin.home)]
    assert f"/v1/projects/-/serviceAccounts/{TARGET}:generateIdToken" in paths


def test_user_adc_mints_through_the_invoker_account(standin: StandIn) -> None:
    creds = standin_user_credentials(standin.url)
    assert credential_kind(creds) == "authorized_user"
    tokens = IdTokenSource(creds, invoker_service_account=STANDIN_INVOKER, iam_endpoint=standin.url)
    _assert_invokes(standin, tokens, STANDIN_INVOKER)
    assert tokens.plan().startswith(f"IAM Credentials generateIdToken for {STANDIN_INVOKER}")


def test_user_adc_without_an_invoker_account_is_a_config_error_with_the_fix(
    standin: StandIn,
) -> None:
    tokens = IdTokenSource(standin_user_credentials(standin.url), iam_endpoint=standin.url)
    with pytest.raises(ConfigError, match="invoker_service_account"):
        tokens.token(AUDIENCE)
    probe = HealthProber(tokens).probe(AUDIENCE + "/health")
    assert probe.status is None and "invoker_service_account" in (probe.error or "")


def _external_account_info(server: StandIn, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    subject = tmp_path / "oidc-token"
    subject.write_text("github-actions-oidc-token")
    return {
        "type": "external_account",
        "audience": (
            "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/gh/"
            "providers/github"
        ),
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": f"{server.url}/v1/token",
        "credential_source": {"file": str(subject)},
        **extra,
    }


def test_workload_identity_mints_through_the_invoker_account(
    standin: StandIn, tmp_path: Path
) -> None:
    iam_accounts.grant(standin.home, STANDIN_INVOKER, WIF_PRINCIPAL)
    creds = _load(_external_account_info(standin, tmp_path))
    assert credential_kind(creds) == "external_account"
    tokens = IdTokenSource(creds, invoker_service_account=STANDIN_INVOKER, iam_endpoint=standin.url)
    _assert_invokes(standin, tokens, STANDIN_INVOKER)
    assert "/v1/token" in [r["path"] for r in StandIn.requests(standin.home)]  # STS exchange


def test_workload_identity_with_impersonation_uses_that_account_by_default(
    standin: StandIn, tmp_path: Path
) -> None:
    iam_accounts.grant(standin.home, TARGET, WIF_PRINCIPAL)  # generateAccessToken
    # then the account mints its own ID token: it needs the role on itself too
    iam_accounts.grant(standin.home, TARGET, f"serviceAccount:{TARGET}")
    info = _external_account_info(
        standin,
        tmp_path,
        service_account_impersonation_url=(
            f"{standin.url}/v1/projects/-/serviceAccounts/{TARGET}:generateAccessToken"
        ),
    )
    tokens = IdTokenSource(_load(info), iam_endpoint=standin.url)
    assert tokens.target_account() == TARGET
    _assert_invokes(standin, tokens, TARGET)


def test_anonymous_credentials_cannot_mint() -> None:
    from google.auth.credentials import AnonymousCredentials

    tokens = IdTokenSource(AnonymousCredentials())  # type: ignore[no-untyped-call]
    assert credential_kind(tokens.credentials) == "anonymous"
    with pytest.raises(CredentialsError, match="application-default login"):
        tokens.token(AUDIENCE)


def test_generate_id_token_needs_an_access_token_from_the_caller(standin: StandIn) -> None:
    from google.oauth2.credentials import Credentials

    from nbaops.adapters.iamcredentials import generate_id_token

    expiry = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=1)
    caller = Credentials(token="not-issued-by-google", expiry=expiry)
    # the stand-in answers 401; the transport then tries to refresh and cannot
    with pytest.raises(CredentialsError, match="application-default login"):
        generate_id_token(caller, STANDIN_INVOKER, AUDIENCE, endpoint=standin.url)
    assert [r for r in StandIn.requests(standin.home) if "generateIdToken" in r["path"]]


def test_generate_id_token_through_an_outage_ends_within_its_timeout() -> None:
    """generateIdToken's default retry re-sends a 503 for 60 s whatever ``timeout_s``:
    every health probe through impersonation waited 60 s in an IAM Credentials outage."""
    from google.auth.credentials import AnonymousCredentials
    from worlds.http_fake import FakeServer, google_error

    from nbaops.adapters.iamcredentials import IamCredentialsError, generate_id_token

    requests: list[str] = []

    def outage(request: Any) -> tuple[int, Any]:
        requests.append(request.path)
        return google_error(503, "UNAVAILABLE", "The service is currently unavailable.")

    with FakeServer(outage) as server:
        error = outcome_within(
            lambda: generate_id_token(
                AnonymousCredentials(), TARGET, AUDIENCE, endpoint=server.url, timeout_s=1
            ),
            15,
            "the call",
        )
    assert isinstance(error, IamCredentialsError) and "gave up retrying" in str(error), error
    assert 1 < len(requests) < 10  # retried, within the second


# ---------------------------------------------------------------- invoker check


def test_invoker_check_refuses_missing_or_wrongly_audienced_tokens(standin: StandIn) -> None:
    route = lambda url: run_urls.local_route(standin.url, url)  # noqa: E731
    anonymous = HealthProber(route=route).probe(AUDIENCE + "/health")
    assert anonymous.status == 403 and "no ID token" in anonymous.body
    tokens = IdTokenSource(
        standin_user_credentials(standin.url),
        invoker_service_account=STANDIN_INVOKER,
        iam_endpoint=standin.url,
    )
    other = run_urls.service_url(STANDIN_PROJECT, STANDIN_REGION, "prediction-worker")
    wrong = HealthProber(tokens, route=route).probe(AUDIENCE + "/health", audience=other)
    assert wrong.status == 401 and "audience" in wrong.body
    forged = iam_standin.mint(standin.home, {"aud": AUDIENCE, "kind": "id"})[:-4] + "AAAA"
    denial = iam_standin.invoker_denial(standin.home, f"Bearer {forged}", [AUDIENCE])
    assert denial is not None and denial[0] == 401
    assert HealthProber(tokens, route=route).probe(AUDIENCE + "/health").status == 200


def test_the_bearer_scheme_is_case_insensitive_and_required(standin: StandIn) -> None:
    """ "Bearer " was matched case-sensitively: a client sending "bearer <token>" (RFC 7235
    2.1: the scheme is case-insensitive) got 401 from IAM Credentials and 403 "no ID
    token" from a service, while a bare token with no scheme at all was accepted."""
    import urllib.error
    import urllib.request

    from google.auth.transport.requests import Request

    creds = standin_user_credentials(standin.url)
    creds.refresh(Request())  # type: ignore[no-untyped-call]
    url = f"{standin.url}/v1/projects/-/serviceAccounts/{STANDIN_INVOKER}:generateIdToken"

    def mint(authorization: str) -> int:
        request = urllib.request.Request(
            url,
            data=json.dumps({"audience": AUDIENCE}).encode(),
            headers={"Authorization": authorization, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code

    assert mint(f"bearer {creds.token}") == 200
    assert mint(f"BEARER  {creds.token}") == 200
    assert mint(str(creds.token)) == 401
    assert mint(f"Basic {creds.token}") == 401
    id_token = iam_standin.metadata_id_token(standin.home, AUDIENCE)
    assert iam_standin.invoker_denial(standin.home, f"bearer {id_token}", [AUDIENCE]) is None
    denial = iam_standin.invoker_denial(standin.home, id_token, [AUDIENCE])
    assert denial is not None and denial[0] == 403


def test_custom_audience_and_tag_urls(standin: StandIn) -> None:
    state = load_state(standin.home)
    full = service_name(STANDIN_PROJECT, STANDIN_REGION, "grading-service")
    state["services"][full]["customAudiences"] = ["https://grading.nba.example"]
    save_state(standin.home, state)
    prober = standin_prober(standin)
    custom = prober.probe(AUDIENCE + "/health", audience="https://grading.nba.example")
    assert custom.status == 200
    # a tag URL's default audience is the service URL (custom audiences and the run.app URL
    # apply to every revision of the service)
    tag = run_urls.tag_url(STANDIN_PROJECT, STANDIN_REGION, "grading-service", "candidate")
    assert service_audience(tag + "/health") == AUDIENCE
    assert prober.probe(tag + "/health").status == 404  # authorized; no revision has the tag


def test_run_app_hosts_parse_back_to_their_service() -> None:
    tag = run_urls.tag_url("nba-props-platform", "us-west2", "prediction-worker", "candidate")
    host = run_urls.parse_host(tag.removeprefix("https://"))
    assert host is not None and (host.service, host.tag) == ("prediction-worker", "candidate")
    assert run_urls.parse_host("example.com") is None
    assert run_urls.local_route("http://127.0.0.1:1", "https://example.com/x") == (
        "https://example.com/x",
        None,
    )


def test_compute_engine_credentials_use_the_metadata_identity_endpoint(
    standin: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from google.auth import compute_engine
    from google.auth.compute_engine import _metadata

    # GCE_METADATA_HOST is read when google-auth is imported: set the module's copy
    monkeypatch.setattr(_metadata, "_GCE_METADATA_HOST", standin.url.removeprefix("http://"))
    creds = compute_engine.Credentials()  # type: ignore[no-untyped-call]
    assert credential_kind(creds) == "compute_engine"
    tokens = IdTokenSource(creds, invoker_service_account=STANDIN_INVOKER)
    _assert_invokes(standin, tokens, iam_standin.METADATA_ACCOUNT)
    assert tokens.plan() == "the metadata server's identity endpoint"


def test_a_cached_token_is_reused_until_close_to_expiry(standin: StandIn) -> None:
    import time

    from nbaops.adapters import idtoken

    now = [time.time()]
    tokens = IdTokenSource(
        standin_user_credentials(standin.url),
        invoker_service_account=STANDIN_INVOKER,
        iam_endpoint=standin.url,
        clock=lambda: now[0],
    )
    first = tokens.token(AUDIENCE)
    assert tokens.token(AUDIENCE) == first  # cached: one generateIdToken call

    def minted() -> int:
        return len([r for r in StandIn.requests(standin.home) if "generateIdToken" in r["path"]])

    assert minted() == 1
    now[0] = _claims(first)["exp"] - idtoken.REFRESH_MARGIN_S + 1
    tokens.token(AUDIENCE)
    assert minted() == 2  # minted again before the hour runs out


def test_a_minted_id_token_is_masked_in_every_later_output(standin: StandIn) -> None:
    """A service (or a proxy's debug page) that echoes the Authorization header printed
    the ID token in `inv health-check --json`'s body: tokens were never secrets to redact."""
    from nbaops.redact import redact

    creds = standin_user_credentials(standin.url)
    tokens = IdTokenSource(creds, invoker_service_account=STANDIN_INVOKER, iam_endpoint=standin.url)
    token = tokens.token("https://prediction-worker-abc-uc.a.run.app")
    echoed = json.dumps({"error": "upstream 503", "auth": f"Bearer {token}"})
    out = redact(echoed)
    assert token not in out and token.split(".")[-1] not in out  # nor the signature alone
    assert '"auth": "Bearer ***"' in out


# ---------------------------------------------------------------- who may mint for which account


def _user_tokens(server: StandIn, account: str = STANDIN_INVOKER) -> IdTokenSource:
    return IdTokenSource(
        standin_user_credentials(server.url),
        invoker_service_account=account,
        iam_endpoint=server.url,
    )


def _iam_replies(server: StandIn) -> list[dict[str, Any]]:
    return [r for r in StandIn.requests(server.home) if "generateIdToken" in r["path"]]


def test_the_local_user_may_mint_for_the_local_invoker_by_default(standin: StandIn) -> None:
    """Without a registry file: the configured local invoker exists and the stand-in's
    user ADC holds roles/iam.serviceAccountTokenCreator on it (a fresh clone probes)."""
    from nbaops.config import load_config

    assert not iam_accounts.iam_path(standin.home).exists()
    local = load_config(Path(__file__).resolve().parents[2] / "nbaops.yaml", "local")
    assert local.profile.invoker_service_account == iam_accounts.LOCAL_INVOKER == STANDIN_INVOKER
    assert f"user:{LOCAL_CLIENT_ID}" == iam_accounts.LOCAL_USER
    _assert_invokes(standin, _user_tokens(standin), STANDIN_INVOKER)


def test_a_caller_without_get_open_id_token_is_denied_as_google_denies(standin: StandIn) -> None:
    iam_accounts.revoke(standin.home, STANDIN_INVOKER, iam_accounts.LOCAL_USER)
    tokens = _user_tokens(standin)
    with pytest.raises(PermissionDeniedError) as raised:
        tokens.token(AUDIENCE)
    message = str(raised.value)
    assert "permission denied (HTTP 403)" in message
    assert (
        "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource "
        "(or it may not exist)." in message
    )
    assert len(_iam_replies(standin)) == 1  # asked, and refused
    # the health probe carries the refusal, not a token
    probe = HealthProber(tokens).probe(AUDIENCE + "/health")
    assert probe.status is None and "getOpenIdToken" in (probe.error or "")
    # a role with getOpenIdToken only is enough for an ID token, not for an access token
    iam_accounts.grant(
        standin.home, STANDIN_INVOKER, iam_accounts.LOCAL_USER, iam_accounts.OPENID_TOKEN_CREATOR
    )
    _assert_invokes(standin, tokens, STANDIN_INVOKER)


def test_the_denial_has_googles_error_body(standin: StandIn) -> None:
    import google.auth.transport.requests
    import requests

    iam_accounts.revoke(standin.home, STANDIN_INVOKER)
    creds = standin_user_credentials(standin.url)
    creds.refresh(google.auth.transport.requests.Request())
    url = f"{standin.url}/v1/projects/-/serviceAccounts/{STANDIN_INVOKER}:generateIdToken"
    reply = requests.post(
        url, json={"audience": AUDIENCE}, headers={"Authorization": f"Bearer {creds.token}"}
    )
    assert reply.status_code == 403
    assert reply.json() == {
        "error": {
            "code": 403,
            "message": "Permission 'iam.serviceAccounts.getOpenIdToken' denied on resource "
            "(or it may not exist).",
            "status": "PERMISSION_DENIED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "IAM_PERMISSION_DENIED",
                    "domain": "iam.googleapis.com",
                    "metadata": {"permission": "iam.serviceAccounts.getOpenIdToken"},
                }
            ],
        }
    }


def test_an_account_that_does_not_exist_is_not_found(standin: StandIn) -> None:
    iam_accounts.remove_account(standin.home, STANDIN_INVOKER)
    with pytest.raises(NotFoundError, match="Gaia id not found for email " + STANDIN_INVOKER):
        _user_tokens(standin).token(AUDIENCE)
    other = "nobody-here@some-other-project.iam.gserviceaccount.com"  # well formed, unknown
    with pytest.raises(NotFoundError, match="Gaia id not found"):
        _user_tokens(standin, other).token(AUDIENCE)
    assert len(_iam_replies(standin)) == 2


def test_another_callers_grant_is_not_the_local_users(standin: StandIn) -> None:
    iam_accounts.seed_accounts(
        standin.home,
        {STANDIN_INVOKER: {iam_accounts.TOKEN_CREATOR: [f"serviceAccount:{SA_EMAIL}"]}},
    )
    with pytest.raises(PermissionDeniedError):
        _user_tokens(standin).token(AUDIENCE)


@pytest.mark.parametrize(
    "account",
    [
        "123456789012-compute@developer.gserviceaccount.com",  # Compute Engine default
        "nba-props-platform@appspot.gserviceaccount.com",  # App Engine default
        "service-123456789012@gcp-sa-pubsub.iam.gserviceaccount.com",  # a service agent
        "123456789012@cloudbuild.gserviceaccount.com",  # legacy Cloud Build account
        "nbaops-invoker@nba-props-platform.iam.gserviceaccount.com",  # user-managed
    ],
)
def test_every_real_account_form_can_mint(standin: StandIn, account: str) -> None:
    assert iam_accounts.is_account_email(account)
    iam_accounts.grant(standin.home, account, iam_accounts.LOCAL_USER)
    _assert_invokes(standin, _user_tokens(standin, account), account)


def test_what_is_not_an_account_email_is_refused() -> None:
    for email in ("someone@example.com", "x@p.iam.gserviceaccount.com", "compute@developer"):
        assert not iam_accounts.is_account_email(email)
    with pytest.raises(ValueError, match="service account"):
        iam_accounts.grant(Path("/nonexistent"), "someone@example.com", iam_accounts.LOCAL_USER)


@pytest.mark.parametrize("kind, status", [("iam-denied", 403), ("iam-not-found", 404)])
def test_iam_faults_answer_like_the_registry(standin: StandIn, kind: str, status: int) -> None:
    from nbaops.local.api_faults import set_api_fault

    set_api_fault(standin.home, kind, count=1)
    error = PermissionDeniedError if status == 403 else NotFoundError
    with pytest.raises(error):
        _user_tokens(standin).token(AUDIENCE)
    _assert_invokes(standin, _user_tokens(standin), STANDIN_INVOKER)  # used up: minted again
    assert len(_iam_replies(standin)) == 2


def test_a_token_endpoint_refuses_in_the_oauth_error_shape(standin: StandIn) -> None:
    """/token and STS /v1/token refused in the Google API error shape ({"error": {"code",
    …}}); a token endpoint answers {"error": CODE, "error_description": …} (RFC 6749 5.2,
    which google-auth parses), so a refused refresh read '{'code': 400, …}: None'."""
    import requests
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request
    from google.oauth2.credentials import Credentials

    reply = requests.post(standin.url + "/token", data={"grant_type": "password"}, timeout=5)
    assert reply.status_code == 400
    assert reply.json() == {
        "error": "unsupported_grant_type",
        "error_description": "Invalid grant_type: password",  # Google's words
    }
    no_token = requests.post(
        standin.url + "/token", data={"grant_type": "refresh_token", "client_id": "c"}, timeout=5
    )
    assert no_token.json() == {  # Google's words, not a bare 'refresh_token'
        "error": "invalid_request",
        "error_description": "Missing required parameter: refresh_token",
    }
    sts = requests.post(standin.url + "/v1/token", data={"grantType": "x"}, timeout=5)
    assert sts.json()["error"] == "invalid_request", sts.text
    creds = Credentials(  # type: ignore[no-untyped-call]
        token=None,
        refresh_token="r",
        token_uri=standin.url + "/token",
        client_id="",
        client_secret="s",
    )
    with pytest.raises(
        RefreshError, match=r"^\('invalid_request: Could not determine client ID from request\."
    ):
        creds.refresh(Request())  # type: ignore[no-untyped-call]


@pytest.mark.usefixtures("keyed")
def test_a_jwt_bearer_assertion_outside_googles_time_rules_is_invalid_grant(
    standin: StandIn,
) -> None:
    """Google's token endpoint refuses an assertion that has expired, lives more than 1 h
    (exp - iat) or lacks exp/iat: 400 invalid_grant "Invalid JWT: Token must be a
    short-lived token (60 minutes) ..." (RFC 7523 3; Google's service-account OAuth doc).
    The stand-in granted any of them; what google-auth signs (iat now, exp now + 3600) is
    still granted."""
    import math
    import time

    import requests
    from google.auth.transport.requests import Request

    def grant(**times: float) -> requests.Response:
        claims = {"iss": SA_EMAIL, "aud": iam_standin.TOKEN_AUDIENCE, "scope": "s", **times}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        form = {"grant_type": iam_standin.JWT_BEARER, "assertion": f"e30.{payload}.c2ln"}
        return requests.post(standin.url + "/token", data=form, timeout=5)

    now = time.time()
    refused = {
        "expired": grant(iat=now - 3700, exp=now - 100),
        "longer than 1 h": grant(iat=now, exp=now + 3601),
        "no exp": grant(iat=now),
        "issued in the future": grant(iat=now + 600, exp=now + 900),
        "not a time (NaN, which every comparison passed)": grant(iat=math.nan, exp=math.nan),
    }
    for why, reply in refused.items():
        assert reply.status_code == 400, (why, reply.text)
        assert reply.json() == {
            "error": "invalid_grant",
            "error_description": iam_standin.SHORT_LIVED,
        }, why
    assert grant(iat=now, exp=now + 3600).status_code == 200
    creds = _load(_service_account_info(standin))
    creds.refresh(Request())  # google-auth's own assertion (access token)
    assert creds.token


@pytest.mark.usefixtures("keyed")
def test_a_jwt_bearer_assertion_for_another_audience_is_invalid_grant(standin: StandIn) -> None:
    """The assertion's ``aud`` must be Google's token endpoint ("When making an access token
    request this value is always https://oauth2.googleapis.com/token", Google's
    service-account OAuth doc); another, such as the URL it was posted to (a proxy's, the
    stand-in's), is 400 invalid_grant "Invalid JWT: Failed audience check."
    (GoogleCloudDataproc/hadoop-connectors#822). The stand-in granted any audience, so
    an assertion built for another endpoint passed locally and failed in prod. google-auth
    signs Google's, whatever its token_uri: its access- and ID-token grants still pass."""
    import time

    import requests
    from google.auth.transport.requests import Request

    def grant(**claims: object) -> requests.Response:
        now = time.time()
        body = {"iss": SA_EMAIL, "scope": "s", "iat": now, "exp": now + 3600, **claims}
        payload = base64.urlsafe_b64encode(json.dumps(body).encode()).rstrip(b"=").decode()
        form = {"grant_type": iam_standin.JWT_BEARER, "assertion": f"e30.{payload}.c2ln"}
        return requests.post(standin.url + "/token", data=form, timeout=5)

    for aud in (f"{standin.url}/token", "https://www.googleapis.com/oauth2/v4/token", None):
        reply = grant(aud=aud) if aud else grant()
        assert reply.status_code == 400, (aud, reply.text)
        assert reply.json() == {
            "error": "invalid_grant",
            "error_description": "Invalid JWT: Failed audience check.",
        }, aud
    assert grant(aud="https://oauth2.googleapis.com/token").status_code == 200
    # an issuer that is no service account: Google's "account not found" (it read "unknown
    # issuer"; googleapis/google-cloud-php#3622, google/oculi#5)
    stranger = grant(aud=iam_standin.TOKEN_AUDIENCE, iss="someone@example.com")
    assert stranger.status_code == 400 and stranger.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid grant: account not found",
    }, stranger.text
    creds = _load(_service_account_info(standin))
    creds.refresh(Request())  # google-auth's own assertion: Google's aud, the stand-in's URI
    assert creds.token


@pytest.mark.usefixtures("keyed")
def test_a_self_signed_jwt_is_held_to_the_same_time_rules(standin: StandIn) -> None:
    """A self-signed JWT used as a bearer token (what client libraries send for a
    service-account key) lives at most 1 h (AIP-4111: exp "must be exactly 3600 seconds"
    after iat): the stand-in checked only that exp had not passed. google-auth's
    own (jwt.Credentials, 1 h) is still a caller."""
    import time

    from google.auth import jwt
    from google.auth.transport.requests import Request

    now = time.time()

    def bearer(**times: float) -> str:
        aud = iam_standin.IAM_CREDENTIALS_AUDIENCE
        claims = {"iss": SA_EMAIL, "sub": SA_EMAIL, "aud": aud, **times}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"Bearer e30.{payload}.c2ln"

    with pytest.raises(StandInApiError) as refused:
        iam_standin.caller(standin.home, bearer(iat=now, exp=now + 7200))
    assert refused.value.code == 401
    own = jwt.Credentials.from_service_account_info(
        _service_account_info(standin), audience="https://iamcredentials.googleapis.com/"
    )
    own.refresh(Request())  # type: ignore[no-untyped-call]
    assert iam_standin.caller(standin.home, f"Bearer {own.token}") == f"serviceAccount:{SA_EMAIL}"


@pytest.mark.usefixtures("keyed")
def test_generate_access_token_honours_the_requested_lifetime_and_needs_a_scope(
    standin: StandIn,
) -> None:
    """generateAccessToken ignored ``lifetime`` (every token lived an hour) and ``scope``.
    IAM Credentials: lifetime is "the desired lifetime duration of the access token ... By
    default, the maximum allowed value is 1 hour" ("less than or equal to 3600", python-iam
    GenerateAccessTokenRequest.lifetime); scope is required."""
    import time

    import requests
    from google.auth import impersonated_credentials
    from google.auth.transport.requests import Request

    iam_accounts.grant(standin.home, TARGET, f"serviceAccount:{SA_EMAIL}")
    source = _load(_service_account_info(standin))
    creds = impersonated_credentials.Credentials(
        source_credentials=source,
        target_principal=TARGET,
        target_scopes=["https://www.googleapis.com/auth/cloud-platform"],
        lifetime=300,
        iam_endpoint_override=(
            f"{standin.url}/v1/projects/-/serviceAccounts/{TARGET}:generateAccessToken"
        ),
    )
    creds.refresh(Request())
    left = (creds.expiry - dt.datetime.now(dt.UTC).replace(tzinfo=None)).total_seconds()
    assert 200 < left <= 300, creds.expiry
    assert iam_standin.verify(standin.home, creds.token)["exp"] - time.time() <= 300
    url = f"{standin.url}/v1/projects/-/serviceAccounts/{TARGET}:generateAccessToken"
    source.refresh(Request())
    headers = {"Authorization": f"Bearer {source.token}"}
    scope = ["https://www.googleapis.com/auth/cloud-platform"]
    # "Must be set to a value less than or equal to 3600": 3600.5 s was cut to 3600 and minted
    over = {"scope": scope, "lifetime": "3600.5s"}
    for body in ({"scope": scope, "lifetime": "7200s"}, over, {"lifetime": "60s"}):
        reply = requests.post(url, json=body, headers=headers, timeout=5)
        assert reply.status_code == 400, (body, reply.text)
        assert reply.json()["error"]["status"] == "INVALID_ARGUMENT"


@pytest.mark.usefixtures("keyed")
def test_a_self_signed_jwt_is_a_caller_only_for_iam_credentials_or_with_a_scope(
    standin: StandIn,
) -> None:
    """A self-signed JWT is a bearer token for the API its aud names ("https://
    [API_ENDPOINT]/", AIP-4111) or, without aud, for the scopes of its "scope" claim
    (aip-dev/google.aip.dev#761): one signed for Cloud Run's API, or for no API at all,
    was a caller of IAM Credentials. What the IAM Credentials client sends for a key (its
    default host as aud; a scope claim when the credential has scopes, as ADC's do) is."""
    from google.oauth2 import service_account

    from nbaops.adapters.credentials import SCOPE
    from nbaops.adapters.iamcredentials import generate_id_token

    def signed(audience: str | None, **claims: str) -> str:
        return _self_signed(_service_account_info(standin), audience, **claims)

    for token in (signed("https://run.googleapis.com/"), signed(None), signed("https://x/")):
        with pytest.raises(StandInApiError) as refused:
            iam_standin.caller(standin.home, token)
        assert refused.value.code == 401 and refused.value.status == "UNAUTHENTICATED"
    caller = f"serviceAccount:{SA_EMAIL}"
    assert iam_standin.caller(standin.home, signed(None, scope=SCOPE)) == caller
    assert iam_standin.caller(standin.home, signed(iam_standin.IAM_CREDENTIALS_AUDIENCE)) == caller
    iam_accounts.grant(standin.home, TARGET, caller)
    info = _service_account_info(standin)
    for scopes in ([SCOPE], None):  # a scope claim, then the default host as aud
        key = service_account.Credentials.from_service_account_info(info, scopes=scopes)
        token = generate_id_token(key, TARGET, AUDIENCE, endpoint=standin.url)
        assert _claims(token)["aud"] == AUDIENCE
    assert not [r for r in StandIn.requests(standin.home) if r["path"] == "/token"]


@pytest.mark.usefixtures("keyed")
def test_a_self_signed_jwt_whose_scopes_do_not_cover_iam_credentials_is_403(
    standin: StandIn,
) -> None:
    """The scope claim's value was not checked: a key's JWT signed for Logging's read
    scope was a caller of IAM Credentials. Google answers 403 PERMISSION_DENIED "Request
    had insufficient authentication scopes." (ErrorInfo ACCESS_TOKEN_SCOPE_INSUFFICIENT);
    cloud-platform (the API's scope) and iam (what google-auth signs for this API itself)
    cover it, as does a list holding one of them."""
    from google.oauth2 import service_account

    from nbaops.adapters.errors import CredentialsError
    from nbaops.adapters.iamcredentials import generate_id_token
    from nbaops.adapters.logs import READ_SCOPE

    info = _service_account_info(standin)
    with pytest.raises(StandInApiError) as refused:
        iam_standin.caller(standin.home, _self_signed(info, None, scope=READ_SCOPE))
    assert (refused.value.code, refused.value.status) == (403, "PERMISSION_DENIED")
    assert refused.value.message == "Request had insufficient authentication scopes."
    assert refused.value.details[0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    caller = f"serviceAccount:{SA_EMAIL}"
    for scope in (*iam_standin.IAM_CREDENTIALS_SCOPES, f"{READ_SCOPE} {SCOPE_IAM}"):
        assert iam_standin.caller(standin.home, _self_signed(info, None, scope=scope)) == caller
    iam_accounts.grant(standin.home, TARGET, caller)
    key = service_account.Credentials.from_service_account_info(info, scopes=[READ_SCOPE])
    with pytest.raises(CredentialsError, match="insufficient authentication scopes"):
        generate_id_token(key, TARGET, AUDIENCE, endpoint=standin.url)
    key = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE_IAM])
    assert _claims(generate_id_token(key, TARGET, AUDIENCE, endpoint=standin.url))["aud"]


SCOPE_IAM = "https://www.googleapis.com/auth/iam"


@pytest.mark.usefixtures("keyed")
def test_a_403_for_insufficient_scopes_says_the_fix_is_the_scopes_not_a_role(
    standin: StandIn,
) -> None:
    """A 403 whose ErrorInfo reason is ACCESS_TOKEN_SCOPE_INSUFFICIENT was "permission
    denied", and doctor advised granting a role: no role helps, the credentials' scopes
    do (googleapis google/api/error_reason.proto). It is a credentials error naming the
    reason and the scope fix; a 403 for a missing role stays "permission denied"."""
    from google.oauth2 import service_account

    from nbaops.adapters.errors import CredentialsError, PermissionDeniedError
    from nbaops.adapters.iamcredentials import generate_id_token
    from nbaops.adapters.logs import READ_SCOPE

    info = _service_account_info(standin)
    iam_accounts.grant(standin.home, TARGET, f"serviceAccount:{SA_EMAIL}")
    key = service_account.Credentials.from_service_account_info(info, scopes=[READ_SCOPE])
    with pytest.raises(CredentialsError) as refused:
        generate_id_token(key, TARGET, AUDIENCE, endpoint=standin.url)
    message = str(refused.value)
    assert "permission denied" not in message and "\n" not in message
    assert "HTTP 403 ACCESS_TOKEN_SCOPE_INSUFFICIENT" in message
    assert "OAuth scopes, not an IAM role" in message and "cloud-platform" in message
    assert not isinstance(refused.value, PermissionDeniedError)
    iam_accounts.revoke(standin.home, TARGET, f"serviceAccount:{SA_EMAIL}")
    key = service_account.Credentials.from_service_account_info(info, scopes=[SCOPE_IAM])
    with pytest.raises(PermissionDeniedError, match="permission denied"):
        generate_id_token(key, TARGET, AUDIENCE, endpoint=standin.url)


@pytest.mark.usefixtures("keyed")
def test_a_key_of_an_account_the_stand_in_does_not_hold_is_refused(standin: StandIn) -> None:
    """Only the email's form was checked: a deleted account's key (or one of an account
    that never existed here) still got access tokens and was a caller with its
    self-signed JWTs. Google has no public key to verify either with: the grant is
    400 invalid_grant "Invalid grant: account not found" (googleapis/google-cloud-php#3622),
    the bearer token 401."""
    from google.auth.exceptions import RefreshError
    from google.auth.transport.requests import Request

    iam_accounts.remove_account(standin.home, SA_EMAIL)
    info = _service_account_info(standin)
    with pytest.raises(RefreshError, match="account not found"):
        _load(info).refresh(Request())
    with pytest.raises(StandInApiError) as refused:
        iam_standin.caller(standin.home, _self_signed(info, iam_standin.IAM_CREDENTIALS_AUDIENCE))
    assert refused.value.code == 401


def _self_signed(info: dict[str, Any], audience: str | None, **claims: str) -> str:
    """``Bearer`` and the self-signed JWT google-auth's jwt.Credentials makes of ``info``."""
    from google.auth import jwt
    from google.auth.transport.requests import Request

    creds = jwt.Credentials.from_service_account_info(
        info, audience=audience, additional_claims=claims
    )
    creds.refresh(Request())  # type: ignore[no-untyped-call]
    token = creds.token
    return f"Bearer {token.decode() if isinstance(token, bytes) else token}"
