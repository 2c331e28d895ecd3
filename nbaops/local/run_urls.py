"""Cloud Run URLs of the real shape, served by the stand-in on 127.0.0.1.

Cloud Run gives a service ``https://SERVICE-HASH-REGIONCODE.a.run.app`` and a revision tag
``https://TAG---SERVICE-HASH-REGIONCODE.a.run.app`` (three dashes). The stand-in renders
these URLs in ``uri``/``urls``/``trafficStatuses[].uri`` and answers them when a request to
127.0.0.1 carries that host in its ``Host`` header; the local profile's health prober maps
every ``*.a.run.app`` URL onto the stand-in that way (:func:`local_route`), so a URL never
depends on the stand-in's port and reads like production.

``HASH`` is 10 characters derived from the project, ``REGIONCODE`` the short code of the
region (``us-west2`` → ``wl``).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

RUN_APP_SUFFIX = ".a.run.app"
# Region codes Cloud Run uses in *.a.run.app hosts; unknown regions get a stable fallback.
REGION_CODES = {
    "us-central1": "uc",
    "us-east1": "ue",
    "us-east4": "uk",
    "us-west1": "uw",
    "us-west2": "wl",
    "europe-west1": "ew",
    "europe-west4": "ez",
    "asia-northeast1": "an",
}
_HOST_RE = re.compile(
    r"^(?:(?P<tag>[a-z0-9-]+?)---)?(?P<service>[a-z0-9-]+)-(?P<hash>[a-z0-9]{10})"
    r"-(?P<code>[a-z]{2})\.a\.run\.app\Z"
)


def region_code(region: str) -> str:
    if region in REGION_CODES:
        return REGION_CODES[region]
    parts = region.split("-")
    return (parts[0][0] + parts[-1][0]).lower() if len(parts) > 1 else region[:2].lower()


def service_host(project: str, region: str, service: str) -> str:
    # Cloud Run's hash: 10 lowercase alphanumerics (here derived from the project)
    digest = hashlib.sha256(project.encode("utf-8")).hexdigest()[:10]
    return f"{service}-{digest}-{region_code(region)}{RUN_APP_SUFFIX}"


def service_url(project: str, region: str, service: str) -> str:
    """``https://SERVICE-HASH-CODE.a.run.app``: the URL and default ID-token audience."""
    return f"https://{service_host(project, region, service)}"


def tag_url(project: str, region: str, service: str, tag: str) -> str:
    """``https://TAG---SERVICE-HASH-CODE.a.run.app``."""
    return f"https://{tag}---{service_host(project, region, service)}"


@dataclass(frozen=True)
class RunHost:
    """A parsed ``*.a.run.app`` host."""

    service: str
    tag: str | None
    service_host: str


def parse_host(host: str) -> RunHost | None:
    """The service (and tag) a ``*.a.run.app`` host names, or None for other hosts."""
    host = host.split(":", 1)[0].lower()
    match = _HOST_RE.match(host)
    if match is None:
        return None
    tag = match.group("tag")
    base = host[len(tag) + 3 :] if tag else host
    return RunHost(service=match.group("service"), tag=tag, service_host=base)


def local_route(endpoint: str, url: str) -> tuple[str, str | None]:
    """Where a request for ``url`` goes on the local profile, and the ``Host`` to send.

    ``*.a.run.app`` URLs go to the stand-in at ``endpoint`` (``http://127.0.0.1:PORT``) with
    the original host in the ``Host`` header; any other URL is left alone.
    """
    parts = urlsplit(url)
    if not parts.hostname or not parts.hostname.endswith(RUN_APP_SUFFIX):
        return url, None
    local = urlsplit(endpoint)
    return (
        urlunsplit((local.scheme, local.netloc, parts.path or "/", parts.query, "")),
        parts.hostname,
    )
