"""Standard-library HTTP that never sends a loopback call through a proxy.

``urllib`` sends every request through ``HTTP(S)_PROXY`` from the environment unless
``NO_PROXY`` names the host, so a proxy set in a CI job or a shell would swallow the calls
to a server on 127.0.0.1 (the local stand-in, a test server). Real hosts keep the
environment's proxies: a corporate proxy may be the only way out to GitHub or Slack.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from urllib.parse import urlsplit


def is_loopback(host: str | None) -> bool:
    """``localhost`` or a loopback address (``127.0.0.0/8``, ``::1``)."""
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def opener_for(url: str) -> urllib.request.OpenerDirector:
    """An opener for ``url``: no proxy for a loopback host, the environment's otherwise."""
    direct = is_loopback(urlsplit(url).hostname)
    return urllib.request.build_opener(*([urllib.request.ProxyHandler({})] if direct else []))
