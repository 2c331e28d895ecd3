"""`inv slack.configure` / `inv slack.test`: the webhook store (0600 file locally, Secret
Manager on prod), the test message, and the URL never printed."""

from __future__ import annotations

import io
import stat
from pathlib import Path

import pytest
from invoke import Context as InvokeContext
from invoke.exceptions import Exit
from worlds.secretmanager_fake import fake_secret_manager
from worlds.slack_receiver import TOKEN, SlackReceiver

from nbaops.alerts import configure as configure_webhook
from nbaops.alerts.webhook_store import (
    FileWebhookStore,
    read_url_input,
    resolve_webhook,
    validate_webhook,
)
from nbaops.cli import slack as slack_tasks
from nbaops.context import Context
from nbaops.errors import UsageError
from nbaops.sandbox.world import open_context
from nbaops.verdict import Verdict

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_CONFIG", str(ROOT / "nbaops.yaml"))
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    return tmp_path / "home"


def local() -> Context:
    return open_context("local", config_path=ROOT / "nbaops.yaml")


def test_configure_sends_a_test_then_stores_the_url_mode_0600(
    home: Path, receiver: SlackReceiver
) -> None:
    report = configure_webhook(local(), validate_webhook(receiver.webhook))
    assert report.verdict is Verdict.PASS
    assert len(receiver.posts) == 1 and "Slack alerts configured" in receiver.posts[0].text
    path = home / "secrets" / "slack-webhook"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text(encoding="utf-8").strip() == receiver.webhook
    secret, source = resolve_webhook(local())  # no env var: read from the store
    assert secret is not None and secret.reveal() == receiver.webhook and source == str(path)
    assert TOKEN not in str(report.to_json())


def test_configure_dry_run_sends_nothing_and_stores_nothing(
    home: Path, receiver: SlackReceiver
) -> None:
    report = configure_webhook(local(), validate_webhook(receiver.webhook), dry_run=True)
    assert report.verdict is Verdict.PASS
    assert report.checks[0].message.startswith("dry run: would send a test message, then store")
    assert receiver.posts == [] and FileWebhookStore(home).load() is None
    assert TOKEN not in str(report.to_json())


def test_configure_stores_nothing_when_the_test_message_fails(
    home: Path, receiver: SlackReceiver
) -> None:
    receiver.status = 404
    report = configure_webhook(local(), validate_webhook(receiver.webhook))
    assert report.verdict is Verdict.ERROR
    assert "NOT stored" in report.checks[0].message and "HTTP 404" in report.checks[0].message
    assert TOKEN not in str(report.to_json())
    assert FileWebhookStore(home).load() is None


def test_environment_wins_over_the_store(
    home: Path, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    FileWebhookStore(home).save(validate_webhook("https://hooks.slack.com/services/A/B/old"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.webhook)
    secret, source = resolve_webhook(local())
    assert secret is not None and secret.reveal() == receiver.webhook
    assert source == "$SLACK_WEBHOOK_URL"


def test_url_input_from_piped_stdin_or_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("https://hooks.slack.com/services/A/B/c\n"))
    assert read_url_input().reveal() == "https://hooks.slack.com/services/A/B/c"
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/A/B/d")
    assert read_url_input(from_env=True).reveal().endswith("/d")


def test_prod_configure_writes_a_secret_manager_version(
    home: Path, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_secret_manager() as sm:
        monkeypatch.setenv("NBAOPS_SECRETMANAGER_ENDPOINT", sm.url)
        prod = Context.create("prod", config_path=ROOT / "nbaops.yaml")
        report = configure_webhook(prod, validate_webhook(receiver.webhook))
        assert report.verdict is Verdict.PASS
        name = "projects/nba-props-platform/secrets/nbaops-slack-webhook"
        assert sm.secrets[name] == [receiver.webhook.encode()]
        # Configuring again adds a version to the existing secret.
        configure_webhook(prod, validate_webhook(receiver.webhook), send_test=False)
        assert len(sm.secrets[name]) == 2
        secret, source = resolve_webhook(prod)
        assert secret is not None and secret.reveal() == receiver.webhook
        assert source == f"Secret Manager {name}"
    assert not (home / "secrets").exists()  # nothing written locally for prod


def test_tasks_end_to_end_never_print_the_url(
    home: Path,
    receiver: SlackReceiver,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(receiver.webhook + "\n"))
    monkeypatch.setenv("COLUMNS", "240")  # keep the table's message on one line
    slack_tasks.configure(InvokeContext(), profile="local", json=True)
    slack_tasks.test(InvokeContext(), profile="local")
    assert len(receiver.posts) == 2
    receiver.status = 503
    with pytest.raises(Exit) as failed:
        slack_tasks.test(InvokeContext(), profile="local")
    assert failed.value.code == 3
    out, err = capsys.readouterr()
    assert '"verdict": "PASS"' in out and "HTTP 503" in out
    assert TOKEN not in out + err and receiver.webhook not in out + err


def test_bad_input_exits_2_without_echoing_it(
    home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("http://example.com/services/zzSecretzz\n"))
    with pytest.raises(Exit) as info:
        slack_tasks.configure(InvokeContext(), profile="local")
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert "https://" in err and "zzSecretzz" not in out + err
    assert not (home / "secrets" / "slack-webhook").exists()


@pytest.mark.parametrize(
    "value",
    [
        "https://hooks.slack.com/services/T0/B0/zzSecretzz extra",
        "https://hooks.slack.com/services/T0/B0/zz\tSecretzz",
    ],
    ids=["space", "tab"],
)
def test_a_url_with_whitespace_inside_is_refused_before_any_request(value: str) -> None:
    """A pasted URL with a space inside used to reach the HTTP client and come back as an
    ERROR (exit 3) from the test message; it is bad input (exit 2), named without the value."""
    with pytest.raises(UsageError, match="space or control character") as info:
        validate_webhook(value)
    assert "zzSecretzz" not in str(info.value)


def test_slack_test_without_any_webhook_is_a_usage_error(
    home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(Exit) as info:
        slack_tasks.test(InvokeContext(), profile="local")
    assert info.value.code == 2
    assert "inv slack.configure" in capsys.readouterr().err


def test_doctor_reads_the_slack_secret_without_showing_it(
    home: Path, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nbaops.doctor import check_slack_secret

    with fake_secret_manager() as sm:
        monkeypatch.setenv("NBAOPS_SECRETMANAGER_ENDPOINT", sm.url)
        prod = Context.create("prod", config_path=ROOT / "nbaops.yaml")
        missing = check_slack_secret(prod)
        assert missing is not None and missing.verdict is Verdict.FAIL
        assert "slack.configure" in missing.details["fix"]
        configure_webhook(prod, validate_webhook(receiver.webhook), send_test=False)
        found = check_slack_secret(prod)
        assert found is not None and found.verdict is Verdict.PASS
        assert receiver.webhook not in str(found.to_json())
    # locally, no webhook configured: not applicable rather than a PASS without measuring
    assert check_slack_secret(local()) is None


class EndlessZeros(io.RawIOBase):
    """A pipe from /dev/zero: NUL bytes for ever, with no newline. Past 1 MiB the read is
    counted as unbounded (the real pipe was read until memory ran out)."""

    def __init__(self) -> None:
        self.given = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self.given > 1 << 20:
            raise AssertionError("stdin read without a bound")
        size = len(buffer)
        buffer[:size] = b"\0" * size
        self.given += size
        return size


@pytest.mark.parametrize("stdin", ["endless", "long line", "long line after a space"])
def test_piped_input_is_read_within_a_bound_and_a_longer_line_refused(
    stdin: str,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """``printf ... | inv slack.configure`` read its line without a bound: from /dev/zero
    until memory ran out, and a pasted line of any length was taken as the URL. Now one
    line, exit 2, nothing sent or stored, the value not shown."""
    url = "https://hooks.slack.com/services/T0/B0/zzSecretzz" + "z" * 3000
    streams = {
        "endless": io.TextIOWrapper(io.BufferedReader(EndlessZeros()), encoding="utf-8"),
        "long line": io.StringIO(url + "\n"),
        "long line after a space": io.StringIO(" " + url[:2048] + "zz\n"),
    }
    monkeypatch.setattr("sys.stdin", streams[stdin])
    with pytest.raises(Exit) as info:
        slack_tasks.configure(InvokeContext(), profile="local", dry_run=True)
    assert info.value.code == 2
    out, err = capsys.readouterr()
    assert "longer than 2048 characters" in err and len(err.strip().splitlines()) == 1
    assert "zzSecretzz" not in out + err
    assert not (home / "secrets" / "slack-webhook").exists()


def test_a_stored_webhook_that_is_a_fifo_or_huge_is_a_one_line_error(tmp_path: Path) -> None:
    """The local webhook file was read whole with read_text: a FIFO nobody writes to
    blocked every alert for ever, and a huge file was read into memory. It is read
    bounded, a regular file only: either is a one-line SecretStoreError naming the file."""
    import os
    import threading

    from nbaops.alerts.webhook_store import MAX_FILE_BYTES, SecretStoreError

    store = FileWebhookStore(tmp_path)
    store.path.parent.mkdir(parents=True)
    os.mkfifo(store.path)
    raised: list[BaseException] = []

    def load() -> None:
        try:
            store.load()
        except SecretStoreError as exc:
            raised.append(exc)

    reader = threading.Thread(target=load, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # unblock the reader so the test process can end
        with open(store.path, "w"):
            pass
    assert [str(e) for e in raised] == [f"cannot read {store.path}: not a regular file"]

    store.path.unlink()
    store.path.write_text("https://hooks.slack.com/services/A/B/" + "c" * MAX_FILE_BYTES)
    with pytest.raises(SecretStoreError, match=f"larger than {MAX_FILE_BYTES} bytes"):
        store.load()
