"""Issue 14 item 2: no 8+ character fragment of any secret survives redaction, in any case.

Fuzzed with hypothesis: random tokens, random cuts (as a 300-byte error excerpt cuts
them), random case changes and percent-encoding, embedded in random text.
"""

from __future__ import annotations

import string
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nbaops import redact as redact_module
from nbaops.alerts.webhook_store import validate_webhook
from nbaops.errors import UsageError
from nbaops.redact import MASK, MIN_FRAGMENT, Secret, redact, redact_tree, sensitive_material

TOKEN_CHARS = string.ascii_letters + string.digits
FUZZ = settings(max_examples=150, deadline=None, derandomize=True)


def leaks(text: str, material: str) -> list[str]:
    """Every 8-character window of ``material`` found in ``text`` (case-insensitive)."""
    low = text.lower()
    return [
        material[i : i + MIN_FRAGMENT]
        for i in range(len(material) - MIN_FRAGMENT + 1)
        if material[i : i + MIN_FRAGMENT].lower() in low
    ]


@st.composite
def webhook_and_fragment(draw: st.DrawFn) -> tuple[str, str, str]:
    team = "T" + draw(st.text(TOKEN_CHARS, min_size=8, max_size=10))
    bot = "B" + draw(st.text(TOKEN_CHARS, min_size=8, max_size=10))
    token = draw(st.text(TOKEN_CHARS, min_size=20, max_size=30))
    host = draw(st.sampled_from(["hooks.slack.com", "example.org", "127.0.0.1:8099"]))
    url = f"https://{host}/services/{team}/{bot}/{token}"
    secret_part = f"{team}/{bot}/{token}"
    start = draw(st.integers(0, len(secret_part) - MIN_FRAGMENT))
    end = draw(st.integers(start + MIN_FRAGMENT, len(secret_part)))
    fragment = secret_part[start:end]
    form = draw(st.sampled_from(["as-is", "upper", "lower", "swapcase", "quoted"]))
    if form == "upper":
        fragment = fragment.upper()
    elif form == "lower":
        fragment = fragment.lower()
    elif form == "swapcase":
        fragment = fragment.swapcase()
    elif form == "quoted":
        fragment = quote(fragment, safe="")
    return url, secret_part, fragment


@FUZZ
@given(case=webhook_and_fragment(), before=st.text(max_size=40), after=st.text(max_size=40))
def test_no_fragment_of_8_or_more_characters_survives(
    case: tuple[str, str, str], before: str, after: str
) -> None:
    url, secret_part, fragment = case
    secret = Secret(url)
    cleaned = redact(f"{before}{fragment}{after}", secret)
    assert leaks(cleaned, secret_part) == [] or leaks(f"{before}{after}", secret_part)
    assert leaks(cleaned, quote(secret_part, safe="")) == [] or "%" in before + after


@FUZZ
@given(text=st.text(alphabet=string.ascii_letters + " :/.-_", max_size=80))
def test_text_without_secrets_is_unchanged(text: str) -> None:
    # nothing known matches arbitrary prose that shares no 8-character window with a secret
    # (any secret this process created counts: other tests in the same worker make some)
    secret = Secret("https://hooks.example.net/services/TQ9Z8Y7X6/BW5V4U3T2/kq1Mz9Lp0Xx8Nn7Bb6")
    material = [*sensitive_material(secret.reveal()), *redact_module._known]
    if not any(leaks(text, m) for m in material):
        assert redact(text, secret) == text


def test_the_issue_cases_upper_cased_echo_and_cut_excerpt() -> None:
    url = "https://hooks.slack.com/services/T0CASE001/B0CASE002/UpperCaseEchoToken42"
    secret = Secret(url)
    echoed = f"error: bad url {url.upper()}"
    cut = ("x" * 270 + url)[:300]  # a 300-byte excerpt cuts the token short
    for text in (echoed, cut, f"proxy said: ...{url[-12:].upper()}"):
        cleaned = redact(text, secret)
        assert leaks(cleaned, "T0CASE001/B0CASE002/UpperCaseEchoToken42") == [], cleaned


def test_known_secrets_are_masked_without_being_passed() -> None:
    Secret("https://example.com/hook?key=RememberedKey0123456")
    assert "RememberedKey" not in redact("echo key=REMEMBEREDKEY0123456 done")
    assert MASK in redact("echo rememberedkey0123456")


def test_environment_secrets_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_EnvironmentToken987654321")
    assert "EnvironmentToken" not in redact("401 for token ghp_environmenttoken987654321")


def test_secrets_that_are_not_clean_text_are_masked_not_a_crash(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A byte that is not UTF-8 reaches Python as a surrogate (os.environ decodes with
    # surrogateescape): quoting it raised, and every task died with a traceback, exit 1.
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_ab\udcffcdefghijkl")
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://[::1/services/T1/B2/BrokenUrlToken77")
    assert "cdefghijkl" not in redact("token ghp_ab\udcffcdefghijkl")
    assert "BrokenUrlToken" not in redact("posting to BrokenUrlToken77 failed")


def test_public_parts_of_urls_stay_readable() -> None:
    secret = Secret("https://alerts.example.com/services/T0PUBLIC1/B0PUBLIC2/PublicPartsToken9")
    text = "see https://alerts.example.com/docs and the services list"
    assert redact(text, secret) == text


def test_redact_tree_masks_every_string_of_a_document() -> None:
    Secret("https://example.com/x/TreeTokenValue12345")
    doc = {"a": ["TreeTokenValue12345"], "TREETOKENVALUE12345": {"b": 1, "c": "ok"}}
    assert "TreeToken" not in str(redact_tree(doc)).replace("TREETOKEN", "TreeToken")


@pytest.mark.parametrize(
    "bad",
    [
        "https://hooks.slack.com/services/T0/B0/tok\x00en",
        "https://hooks.slack.com/services/T0/B0/tok\nX-Injected: 1",
        "https://hooks.slack.com/services/T0/B0/tok\x7fen",
        "https://hooks.slack.com/services/T0/B0/tok\x85en",
        "http://hooks.slack.com/services/T0/B0/plainhttpsecret",
        "http://10.0.0.1/services/T0/B0/notloopback",
        "file:///etc/passwd",
    ],
)
def test_configure_rejects_control_characters_and_non_https(bad: str) -> None:
    with pytest.raises(UsageError) as info:
        validate_webhook(bad)
    assert "tok" not in str(info.value) and "secret" not in str(info.value).replace("a secret", "")


def test_loopback_http_is_allowed_for_tests() -> None:
    assert validate_webhook("http://127.0.0.1:8080/hook").reveal().startswith("http://127")


@pytest.mark.parametrize("before", ["İ" * 40, "İ" * 3, "Ersan İlyasova ", "ẞ ﬁ İ "])
def test_characters_that_lower_case_to_two_still_leave_the_secret_masked(before: str) -> None:
    """ "İ".lower() is two characters: the mask was placed on the lowered text's positions,
    one too far left per "İ", and 40 of them let a token through whole."""
    token = "ghp_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"  # (split: no committed token)
    out = redact(f"{before} token {token} after", Secret(token))
    assert out == f"{before} token *** after"


def test_printable_escapes_control_characters_but_keeps_lines_tabs_and_colours() -> None:
    from nbaops.redact import printable

    text = "a\tb\n\x1b[31mred\x1b[0m \x1b[2J\x1b]0;t\x07\r\x00\x7f\x9b é ✅"
    assert printable(text) == (
        "a\tb\n\\x1b[31mred\\x1b[0m \\x1b[2J\\x1b]0;t\\x07\\x0d\\x00\\x7f\\x9b é ✅"
    )
    assert printable(text, styled=True) == (
        "a\tb\n\x1b[31mred\x1b[0m \\x1b[2J\\x1b]0;t\\x07\\x0d\\x00\\x7f\\x9b é ✅"
    )


def test_printable_escapes_bidi_controls_and_invisible_format_characters() -> None:
    """Trojan Source (CVE-2021-42574): a right-to-left override in a model version or a
    player's name reorders the rest of the printed line, and a zero-width or tag character
    hides text; each is shown as its escape. The joiners that shape names and emoji stay."""
    from nbaops.redact import printable

    text = "v9\u202e1v\u202c \u2066x\u2069 \u200ba\u00adb\ufeff \U000e0041 \u200f\u2028"
    assert printable(text) == (
        "v9\\u202e1v\\u202c \\u2066x\\u2069 \\u200ba\\xadb\\ufeff \\U000e0041 \\u200f\\u2028"
    )
    kept = "مهدی\u200cزاده 👨\u200d👩\u200d👧 Nikola Jokić"
    assert printable(kept) == kept
    assert printable("\u202e", styled=True) == "\\u202e"


def test_a_hook_url_is_masked_without_the_markup_that_closes_it() -> None:
    """Documents are redacted as text (the regression JUnit XML and HTML report, the drift
    and job-summary Markdown): the hook URL pattern ran to the next space, so a URL in an
    XML attribute ate the closing quote (the JUnit file no longer parsed: the CI step said
    "not a readable JUnit XML"), and one in a Markdown link or code span its ``)`` or
    backtick. The URL is masked up to the quote, bracket or backtick that ends it."""
    import json
    import xml.etree.ElementTree as ET

    url = "https://hooks.slack.com/services/T0MARKUP1/B0MARKUP2/NeverToldMarkupToken7"
    xml = f'<testcase name="g"><failure message="posting to {url}">{url}</failure></testcase>'
    cleaned = redact(xml)
    failure = ET.fromstring(cleaned).find("failure")
    assert failure is not None
    assert failure.get("message") == "posting to https://hooks.slack.com/***"
    assert failure.text == "https://hooks.slack.com/***"
    assert json.loads(redact(json.dumps({"m": url, "n": 1}))) == {
        "m": "https://hooks.slack.com/***",
        "n": 1,
    }
    assert redact(f"[hook]({url}) and `{url}` and '{url}'") == (
        "[hook](https://hooks.slack.com/***) and `https://hooks.slack.com/***` and "
        "'https://hooks.slack.com/***'"
    )
    assert "NeverTold" not in cleaned and "MARKUP" not in cleaned
