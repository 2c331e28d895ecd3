"""Prod alert dedup lives in the history table (ledger rows), read with a bounded window.

The prod profile's code path runs against the local DuckDB warehouse built from
schemas/ (the same Warehouse interface BigQuery implements) and a Slack receiver on
127.0.0.1: runs on ephemeral CI machines share dedup state through the table.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from worlds.secretmanager_fake import fake_secret_manager
from worlds.slack_receiver import SlackReceiver

from nbaops.adapters.warehouse_duckdb import DuckDBWarehouse
from nbaops.alerts import dispatch, outbox_path
from nbaops.context import Context
from nbaops.history import record_run
from nbaops.verdict import CheckResult, Verdict

ROOT = Path(__file__).resolve().parents[2]
T0 = dt.datetime(2026, 1, 20, 12, 0, tzinfo=dt.UTC)


def prod_ctx(wh: DuckDBWarehouse) -> Context:
    context = Context.create("prod", config_path=ROOT / "nbaops.yaml")
    context.warehouse = wh
    return context


@pytest.fixture
def wh(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, receiver: SlackReceiver) -> DuckDBWarehouse:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SLACK_WEBHOOK_URL", receiver.webhook)
    monkeypatch.setenv("NBAOPS_NOW", T0.isoformat())
    warehouse = DuckDBWarehouse(tmp_path / "warehouse.duckdb", root=ROOT)
    warehouse.create_tables()
    return warehouse


def fail() -> list[CheckResult]:
    return [CheckResult("batch_errors", "prediction-coordinator", Verdict.FAIL, 3, "FAIL > 0", "3")]


def ledger(wh: DuckDBWarehouse) -> list[dict]:
    return wh.query(
        "SELECT check_name, verdict, profile FROM `nba_ops.check_results` "
        "WHERE run_at >= @since AND STARTS_WITH(check_name, 'alert:') ORDER BY run_at",
        {"since": T0 - dt.timedelta(days=1)},
    ).rows


def test_state_is_shared_through_the_history_table(
    wh: DuckDBWarehouse, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each run builds a fresh context, like a fresh CI runner: nothing survives but the table.
    results = record_run(prod_ctx(wh), fail())
    assert dispatch(prod_ctx(wh), results).alerted == ["batch_errors@prediction-coordinator"]
    assert ledger(wh) == [
        {"check_name": "alert:batch_errors", "verdict": "FAIL", "profile": "prod"}
    ]
    monkeypatch.setenv("NBAOPS_NOW", (T0 + dt.timedelta(hours=6)).isoformat())
    assert dispatch(prod_ctx(wh), fail()).suppressed == ["batch_errors@prediction-coordinator"]
    monkeypatch.setenv("NBAOPS_NOW", (T0 + dt.timedelta(hours=12)).isoformat())
    assert dispatch(prod_ctx(wh), fail()).alerted
    monkeypatch.setenv("NBAOPS_NOW", (T0 + dt.timedelta(hours=13)).isoformat())
    ok = [CheckResult("batch_errors", "prediction-coordinator", Verdict.PASS, 0, "FAIL > 0", "0")]
    assert dispatch(prod_ctx(wh), ok).recovered == ["batch_errors@prediction-coordinator"]
    assert [p.body["text"] for p in receiver.posts] == [
        "nbaops prod: 1 check failing",
        "nbaops prod: 1 check failing",
        "nbaops prod: 1 recovered",
    ]
    assert [r["verdict"] for r in ledger(wh)] == ["FAIL", "FAIL", "PASS"]
    assert not outbox_path(prod_ctx(wh).home).exists()  # the outbox is a local-profile thing


def test_ledger_rows_older_than_the_window_are_not_read(
    wh: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    dispatch(prod_ctx(wh), fail())
    # window = 2 x 12h + 1 day = 48h; 3 days later the old alert is outside it.
    monkeypatch.setenv("NBAOPS_NOW", (T0 + dt.timedelta(days=3)).isoformat())
    assert dispatch(prod_ctx(wh), fail()).alerted


def test_prod_without_a_webhook_is_reported_and_not_recorded(
    wh: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    with fake_secret_manager() as sm:  # Secret Manager answers: no such secret
        monkeypatch.setenv("NBAOPS_SECRETMANAGER_ENDPOINT", sm.url)
        summary = dispatch(prod_ctx(wh), fail())
        assert sm.requests == [
            (
                "GET",
                "/v1/projects/nba-props-platform/secrets/nbaops-slack-webhook/versions/latest:access",
            )
        ]
    assert summary.undelivered == ["batch_errors@prediction-coordinator"]
    assert "no Slack webhook configured" in summary.summary
    assert "no Slack webhook configured" in capsys.readouterr().err
    assert ledger(wh) == []  # not delivered -> alerts again next run


def test_prod_reads_the_webhook_from_secret_manager(
    wh: DuckDBWarehouse, receiver: SlackReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SLACK_WEBHOOK_URL")
    with fake_secret_manager() as sm:
        monkeypatch.setenv("NBAOPS_SECRETMANAGER_ENDPOINT", sm.url)
        name = "projects/nba-props-platform/secrets/nbaops-slack-webhook"
        sm.secrets[name] = [b"https://stale.invalid/x", receiver.webhook.encode() + b"\n"]
        assert dispatch(prod_ctx(wh), fail()).alerted
    assert len(receiver.posts) == 1
