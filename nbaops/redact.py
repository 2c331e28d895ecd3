"""Secrets never show themselves: one redaction function for every output.

A :class:`Secret` wraps a credential (the Slack webhook URL, a GitHub token) as soon as
it is read; ``str``/``repr``/f-strings print ``***`` and only :meth:`Secret.reveal`
returns the value. Every secret created in the process is remembered, and
:func:`redact` masks, in any text:

- every fragment of 8 or more characters of any secret's sensitive part, compared
  case-insensitively, and its percent-encoded form. An error excerpt that cuts a token
  short, or a proxy that echoes it upper-cased, is still masked. For a URL the sensitive
  part is its path (from the first segment that is not a plain lower-case word such as
  ``services``) and query; scheme and host are public, so ``https://`` or a host name
  elsewhere in a message stays readable;
- any Slack incoming-webhook URL, even one it was never told about (in a Slack link,
  ``<URL|label>``, the label too: the markup around them is kept).

The runner redacts every line and JSON document it prints (stderr lines through
:func:`nbaops.stdio.stderr_line`), alerts redact the outbox and every delivery error, and
exceptions carrying a message about a secret are built from redacted text. Text for a
terminal or a plain file also passes :func:`printable` (the data's control characters
and invisible format characters escaped); JSON needs no such step. ``GITHUB_TOKEN`` and
``SLACK_WEBHOOK_URL`` in the environment are secrets too, whether or not any code has
read them yet.
"""

from __future__ import annotations

import functools
import re
import threading
from urllib.parse import quote, urlsplit

from nbaops.environment import read

MASK = "***"
MIN_FRAGMENT = 8
SECRET_ENV_VARS = ("SLACK_WEBHOOK_URL", "GITHUB_TOKEN")

# a hook URL ends at white space or at Slack link markup (``<URL|label>``): eating the
# ``|label>`` broke the message's markup. The label of such a link is masked too (a link
# built from the URL shows its last segment, the token), its closing ``>`` kept. Nor does
# it run through the quote, bracket or backtick that closes it in a document redacted as
# text (an XML attribute of the JUnit report, a Markdown link): a hook URL (team, bot and
# token ids) never holds one.
_SLACK_HOOK = re.compile(
    r"https?://hooks\.slack(?:-gov)?\.com/[^\s|<>\"'`)\]}]*(\|[^<>\n]*(?=>))?", re.IGNORECASE
)
_WORD = re.compile(r"^[a-z]+\Z")

_lock = threading.Lock()
_known: set[str] = set()  # the sensitive material of every Secret created in this process


def sensitive_material(value: str) -> list[str]:
    """The parts of a secret value whose fragments must never appear (lower-cased)."""
    text = value.strip()
    try:
        parts = urlsplit(text) if "://" in text else None
    except ValueError:  # not a URL after all ("https://[::1/..."): the whole value is secret
        parts = None
    pieces: list[str] = []
    if parts is not None and parts.scheme and parts.netloc:
        segments = [s for s in parts.path.split("/") if s]
        while segments and _WORD.match(segments[0]):
            segments.pop(0)  # "services", "hooks", "triggers": public, common words
        tail = "/".join(segments)
        if parts.query:
            tail = f"{tail}?{parts.query}" if tail else parts.query
        pieces.append(tail or parts.path.strip("/") or text)
        if parts.username or parts.password:
            pieces.append(parts.netloc.rsplit("@", 1)[0])
    else:
        pieces.append(text)
    out: list[str] = []
    for piece in pieces:
        # surrogateescape: a value read from the environment may hold undecodable bytes
        quoted = [quote(piece, safe=safe, errors="surrogateescape") for safe in ("", "/")]
        for form in (piece, *quoted):
            if len(form) >= MIN_FRAGMENT and _fold(form) not in out:
                out.append(_fold(form))
    return out


def remember(value: str) -> None:
    """Treat ``value`` as a secret in every later :func:`redact` call."""
    material = sensitive_material(value)
    with _lock:
        _known.update(material)


class Secret:
    """A secret string whose ``str``/``repr`` are redacted (and that :func:`redact` knows)."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value
        remember(value)

    def reveal(self) -> str:
        """The secret value. Use it only to make the call that needs it."""
        return self._value

    def fragments(self) -> list[str]:
        """The sensitive material (lower-cased) whose 8+ character pieces are masked."""
        return sensitive_material(self._value)

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[object, ...]:  # never pickle the value by accident
        raise TypeError("Secret cannot be pickled")


@functools.lru_cache(maxsize=64)
def _grams(material: tuple[str, ...]) -> frozenset[str]:
    """Every 8-character window of the material (cached: outputs redact many strings)."""
    return frozenset(
        m[i : i + MIN_FRAGMENT] for m in material for i in range(len(m) - MIN_FRAGMENT + 1)
    )


def redact(text: str, *secrets: Secret | None) -> str:
    """``text`` with every 8+ character fragment of every known secret (and of ``secrets``)
    masked case-insensitively, and any Slack hook URL replaced by ``***``.

    A run of characters is masked when every 8-character window over it is a window of
    some secret's sensitive material: any fragment of length >= 8 is therefore masked
    whole, wherever it was cut.
    """
    if not text:
        return text
    material: list[str] = []
    for secret in secrets:
        if secret is not None:
            material.extend(secret.fragments())
    for name in SECRET_ENV_VARS:
        env = (read(name) or "").strip()
        if env:
            material.extend(sensitive_material(env))
    with _lock:
        material.extend(_known)
    text = _SLACK_HOOK.sub(
        lambda m: f"https://hooks.slack.com/{MASK}" + (f"|{MASK}" if m.group(1) else ""), text
    )
    grams = _grams(tuple(sorted(set(material))))
    if not grams or len(text) < MIN_FRAGMENT:
        return text
    lowered = _fold(text)
    covered = [False] * len(text)
    for i in range(len(text) - MIN_FRAGMENT + 1):
        if lowered[i : i + MIN_FRAGMENT] in grams:
            for j in range(i, i + MIN_FRAGMENT):
                covered[j] = True
    if not any(covered):
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(MASK)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def _fold(text: str) -> str:
    """``text`` lower-cased one character for one: ``str.lower`` makes "İ" two characters,
    which shifted every later position and let a secret after it through unmasked."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(low if len(low := c.lower()) == 1 else c for c in text)


def redact_tree(value: object) -> object:
    """A JSON-like value with :func:`redact` applied to every string (keys included)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): redact_tree(v) for k, v in value.items()}
    return value


def has_control_characters(value: str) -> bool:
    """True when ``value`` holds a control character (C0, DEL or C1), e.g. a newline."""
    return any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


# C0 and C1 controls but the line break and the tab: an ESC sequence from the data (a model
# version, a player's name, a warehouse message) could clear the screen, retitle the
# window or rewrite what the operator reads (a carriage return overwrites a verdict).
# Invisible format characters lie as well: a bidi override or isolate (U+202A-U+202E,
# U+2066-U+2069) reorders what follows it on the line ("Trojan Source", CVE-2021-42574,
# https://trojansource.codes), the bidi marks (U+061C, U+200E, U+200F) move neutral
# characters, and zero-width characters, the soft hyphen, the interlinear annotation
# marks and the tag characters hide text or tell two different names apart invisibly.
# The line and paragraph separators (U+2028, U+2029) break lines for some readers.
# The joiners U+200C and U+200D are kept: they shape Persian and Indic names and emoji.
_UNSAFE = (
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b\u200e\u200f"
    "\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0001\U000e0020-\U000e007f]"
)
_UNSAFE_PLAIN = re.compile(f"()({_UNSAFE})")
_UNSAFE_STYLED = re.compile(f"(\x1b\\[[0-9;]*m)|({_UNSAFE})")  # a colour (SGR) is kept


def printable(text: str, *, styled: bool = False) -> str:
    """``text`` safe to print to a terminal or a plain-text file: every control character
    but the line break and the tab, and every invisible format character (bidi overrides,
    zero-width characters), becomes a visible escape (``\\x1b``, ``\\u202e``). ``styled``
    keeps colour sequences (SGR: what Rich writes to a terminal); any other sequence is
    escaped.
    """
    pattern = _UNSAFE_STYLED if styled else _UNSAFE_PLAIN
    return pattern.sub(lambda m: m.group(1) or _escape(m.group(2)), text)


def _escape(char: str) -> str:
    """``char`` as Python writes it in a string literal: ``\\x1b``, ``\\u202e``, ``\\U000e0041``."""
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
