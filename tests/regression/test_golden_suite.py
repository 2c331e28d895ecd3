"""The regression gate on the committed golden set (golden/): what CI runs, no ../shared.

The stored versions v8/v9 are reference predictors; these tests gate the suite's own
logic on real lines and real outcomes: the golden file is intact, a candidate model is
evaluated next to the stored champion, a leaking, degraded or broken candidate is caught,
and the reports are written. The HTML report and JUnit XML of the golden run go to
``$NBAOPS_REGRESSION_REPORTS`` (nox) or a temporary folder.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest

from nbaops import nba_data
from nbaops.cli.runner import run
from nbaops.config import load_config
from nbaops.errors import UsageError
from nbaops.paths import project_root
from nbaops.regression import candidate, examples, golden
from nbaops.regression.run import RegressionReport, RegressionRequest, run_regression
from nbaops.regression.settings import RegressionSettings
from nbaops.verdict import CheckResult, Verdict, exit_code_for

ROOT = project_root()


@pytest.fixture(scope="module")
def games() -> Iterator[duckdb.DuckDBPyConnection]:
    con = nba_data.connect()
    golden.load_golden(con, ROOT)
    yield con
    con.close()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("NBAOPS_ROOT", str(ROOT))
    return tmp_path


def _run(isolated: Path, **kwargs: Any) -> RegressionReport:
    from nbaops.sandbox.world import open_context

    request = RegressionRequest(golden=True, html=isolated / "report.html", **kwargs)
    return run_regression(open_context("local"), request)


def _check(report: RegressionReport, name: str) -> CheckResult:
    found = [c for c in report.checks if c.name == name]
    assert found, f"no check {name}: {[c.name for c in report.checks]}"
    return found[0]


# ------------------------------------------------------------------ the committed file


def test_committed_golden_set_is_small_intact_and_attributed() -> None:
    manifest = golden.read_manifest(ROOT)
    path = golden.golden_path(ROOT)
    assert path.stat().st_size < 1_000_000
    assert golden.file_sha256(path) == manifest["file_sha256"]
    assert manifest["rows"] > 3000 and manifest["first_date"] < manifest["last_date"]
    assert set(manifest["columns"]["features"]) == set(golden.FEATURES)
    assert "AntBap23" in manifest["attribution"] and "spon7ge" in manifest["attribution"]
    assert {s["path"].split("/")[0] for s in manifest["sources"]} == {
        "player_game_logs",
        "points_lines",
    }
    licenses = sorted(p.name for p in (ROOT / "golden" / "LICENSES").iterdir())
    assert licenses == ["player_game_logs.LICENSE", "points_lines.LICENSE"]


def test_content_hash_matches_manifest_and_detects_an_edit(
    games: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    manifest = golden.read_manifest(ROOT)
    assert golden.content_hash(games) == manifest["content_sha256"]
    # A copy with one changed outcome no longer loads: the manifest protects the content.
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    games.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN row_number() OVER () = 1 THEN actual_points + 1 "
        f"ELSE actual_points END AS actual_points) FROM golden_games ORDER BY game_date, "
        f"game_id, player_lookup) TO '{tmp_path / 'golden' / manifest['file']}' (FORMAT PARQUET)"
    )
    with pytest.raises(UsageError, match="does not match its manifest"):
        golden.load_golden(nba_data.connect(), tmp_path)


def test_a_column_stored_with_another_type_does_not_load(
    games: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    """The content hash read values as text only: a copy whose line_value was stored as
    text ('20.5') hashed as the committed numbers did and passed verification."""
    manifest = golden.read_manifest(ROOT)
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    games.execute(
        f"COPY (SELECT * REPLACE (CAST(line_value AS VARCHAR) AS line_value) FROM golden_games) "
        f"TO '{tmp_path / 'golden' / manifest['file']}' (FORMAT PARQUET)"
    )
    with pytest.raises(UsageError, match="does not match its manifest"):
        golden.load_golden(nba_data.connect(), tmp_path)


@pytest.mark.parametrize("name", ["../elsewhere.parquet", "sub/../../elsewhere.parquet", "/abs"])
def test_a_manifest_file_outside_golden_is_refused(tmp_path: Path, name: str) -> None:
    """The manifest's ``file`` was joined to golden/ as given: ``../elsewhere.parquet``
    loaded (and verified) a Parquet file from outside the golden set's folder."""
    manifest = golden.read_manifest(ROOT)
    (tmp_path / "golden").mkdir()
    body = {**manifest, "file": name}
    (tmp_path / "golden" / "manifest.json").write_text(json.dumps(body), encoding="utf-8")
    (tmp_path / "elsewhere.parquet").write_bytes((ROOT / "golden" / manifest["file"]).read_bytes())
    with pytest.raises(UsageError, match=r"manifest .*: file .* is not a file name in golden/"):
        golden.load_golden(nba_data.connect(), tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"PAR1 cut short", None],  # a truncated file; a Parquet file of other columns
)
def test_an_unreadable_golden_file_is_bad_input_not_an_internal_error(
    tmp_path: Path, content: bytes | None
) -> None:
    """DuckDB's error escaped load_golden: `inv regression --golden` on a truncated or
    replaced file said "internal error" (exit 3) instead of naming the golden file."""
    manifest = golden.read_manifest(ROOT)
    (tmp_path / "golden").mkdir()
    (tmp_path / "golden" / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    target = tmp_path / "golden" / manifest["file"]
    if content is None:
        con = nba_data.connect()
        con.execute(f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT PARQUET)")
    else:
        target.write_bytes(content)
    with pytest.raises(UsageError, match=r"golden set .* is unreadable \(.*\): rebuild it"):
        golden.load_golden(nba_data.connect(), tmp_path)


def test_golden_rows_are_pre_game_complete_and_unique(games: duckdb.DuckDBPyConnection) -> None:
    row = games.execute(
        "SELECT count(*), count(DISTINCT (game_id, player_lookup)), "
        "count(*) FILTER (WHERE line_value IS NULL OR actual_points IS NULL), "
        "count(*) FILTER (WHERE prior_games < 3 OR season_games > prior_games), "
        "count(*) FILTER (WHERE days_rest IS NOT NULL AND days_rest < 1) FROM golden_games"
    ).fetchone()
    assert row is not None
    rows, unique, incomplete, bad_counts, same_day = row
    assert rows == unique and incomplete == 0 and bad_counts == 0 and same_day == 0
    assert "actual_points" not in golden.feature_columns()
    assert "minutes" not in golden.feature_columns()


# ------------------------------------------------------------------ stored versions


def test_stored_versions_are_measured_honestly(isolated: Path) -> None:
    report = _run(isolated)
    reports = Path(os.environ.get("NBAOPS_REGRESSION_REPORTS", str(isolated)))
    from nbaops.regression.run import write_outputs

    write_outputs(report, html=reports / "golden.html", junit=reports / "golden-junit.xml")
    assert report.html_path is not None and report.html_path.is_file()
    for name in ("no_duplicate_predictions", "real_lines_only", "created_before_tipoff"):
        assert _check(report, name).verdict is Verdict.PASS, name
    settings = report.settings
    assert (settings.champion, settings.challenger) == ("v8", "v9")
    for version in ("v8", "v9"):
        assert _check(report, f"leakage:{version}").verdict is Verdict.PASS
        g = report.metrics.overall(version)
        assert g is not None and g.hit_rate is not None
        # Lines are efficient: a season average does not beat them by much.
        assert 0.45 < g.hit_rate < settings.hit_rate_ceiling
        assert g.decided >= settings.min_bets and g.pushes > 0
    rel = _check(report, "challenger_vs_champion:v9>v8")
    assert rel.verdict in (Verdict.PASS, Verdict.FAIL)
    assert report.metrics.comparisons[0].paired_bets >= settings.min_paired_bets


def test_reference_predictors_do_not_pass_production_floors(isolated: Path) -> None:
    """Honesty: the prod profile's floor is not met by a season average."""
    from nbaops.sandbox.world import open_context

    prod = load_config(profile="prod").settings("regression", RegressionSettings)
    report = run_regression(
        open_context("local"), RegressionRequest(golden=True, html=isolated / "r.html")
    )
    g = report.metrics.overall("v8")
    assert g is not None and g.hit_low < prod.hit_rate_floor
    for system in report.metrics.systems:
        overall = report.metrics.overall(system)
        assert overall is not None and overall.hit_low < report.metrics.break_even


# ------------------------------------------------------------------ the candidate


def test_example_model_runs_as_candidate_next_to_the_champion(isolated: Path) -> None:
    report = _run(isolated, model="nbaops.regression.examples:blend")
    assert report.settings.champion == "v8" and report.settings.challenger == "candidate"
    assert set(report.metrics.systems) == {"candidate", "v8", "v9"}
    g = report.metrics.overall("candidate")
    assert g is not None and g.predictions == golden.read_manifest(ROOT)["rows"]
    for name in (
        "hit_rate_floor:candidate",
        "leakage:candidate",
        "challenger_vs_champion:candidate>v8",
        "mae_vs_champion:candidate>v8",
    ):
        assert _check(report, name).verdict is Verdict.PASS, name
    assert report.verdict is Verdict.PASS
    assert "candidate" in report.source.label and report.html_path is not None
    assert "candidate" in report.html_path.read_text(encoding="utf-8")


def test_candidate_recommendations_follow_the_worker_rule(
    games: duckdb.DuckDBPyConnection,
) -> None:
    frame = candidate.features_frame(games)
    values = examples.blend(frame)
    candidate.run_model(games, examples.blend, "blend")
    games.execute(
        "CREATE OR REPLACE TABLE g2 AS SELECT g.*, c.predicted_points AS candidate_points "
        "FROM golden_games g JOIN golden_candidate c USING (game_id, player_lookup)"
    )
    sql, _ = golden.graded_sql("g2", systems={"candidate": "candidate_points"}, pass_band=1.0)
    rows = games.execute(
        f"SELECT predicted_points, line_value, recommendation FROM ({sql}) ORDER BY "
        + ", ".join(golden.KEY_COLUMNS)
    ).fetchall()
    assert [r[0] for r in rows] == pytest.approx(values)
    for predicted, line, recommendation in rows:
        edge = predicted - line
        expected = "PASS" if abs(edge) < 1.0 else ("OVER" if edge > 0 else "UNDER")
        assert recommendation == expected


def _knows_the_outcome(features: Any) -> list[float]:
    """A leaking candidate: it reads the outcome from the golden file itself."""
    con = nba_data.connect()
    golden.load_golden(con, ROOT)
    actual = dict(
        ((g, p), a)
        for g, p, a in con.execute(
            "SELECT game_id, player_lookup, actual_points FROM golden_games"
        ).fetchall()
    )
    return [
        actual[(g, p)] + 0.3
        for g, p in zip(features["game_id"], features["player_lookup"], strict=True)
    ]


def _contrarian(features: Any) -> list[float]:
    """The opposite side of the champion on every bet: a clear regression."""
    season = features["season_avg"].round(1)
    return (2 * features["line_value"] - season).tolist()  # type: ignore[no-any-return]


def test_a_candidate_that_knows_the_outcome_fails_the_leak_hunt(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(examples, "leaky", _knows_the_outcome, raising=False)
    report = _run(isolated, model="nbaops.regression.examples:leaky")
    assert _check(report, "leakage:candidate").verdict is Verdict.FAIL
    assert _check(report, "too_good_to_be_true:candidate").verdict is Verdict.FAIL
    assert report.verdict is Verdict.FAIL


def test_a_contrarian_candidate_fails_mcnemar_against_the_champion(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(examples, "contrarian", _contrarian, raising=False)
    report = _run(isolated, model="nbaops.regression.examples:contrarian")
    mc = _check(report, "challenger_vs_champion:candidate>v8")
    comparison = report.metrics.comparisons[0]
    # Every shared bet is discordant: exactly one of the two sides wins.
    assert comparison.both_hit == 0 and comparison.both_miss == 0
    if comparison.champion_only > comparison.challenger_only * 1.15:
        assert mc.verdict is Verdict.FAIL
    # Whatever the sign, the p-value is the exact one-sided McNemar of those counts.
    assert mc.details["mcnemar"]["b"] == comparison.champion_only


def test_a_copy_of_the_champion_ties(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        examples, "copy_v8", lambda f: f["season_avg"].round(1).tolist(), raising=False
    )
    report = _run(isolated, model="nbaops.regression.examples:copy_v8")
    tie = _check(report, "challenger_vs_champion:candidate>v8")
    assert tie.verdict is Verdict.PASS and tie.message.startswith("tie")
    # Pandas rounds halves to even, DuckDB away from zero: a few predictions differ by 0.1.
    assert abs(float(_check(report, "mae_vs_champion:candidate>v8").value or 1)) < 1e-3


def test_predictions_file_from_the_worker_build(isolated: Path) -> None:
    con = nba_data.connect()
    golden.load_golden(con, ROOT)
    path = isolated / "predictions.parquet"
    con.execute(
        f"COPY (SELECT game_id, player_lookup, v9_points AS predicted_points FROM golden_games) "
        f"TO '{path}' (FORMAT PARQUET)"
    )
    report = _run(isolated, predictions=path)
    v9 = report.metrics.overall("v9")
    cand = report.metrics.overall("candidate")
    assert v9 is not None and cand is not None
    assert (cand.hits, cand.decided) == (v9.hits, v9.decided)
    assert cand.mae == pytest.approx(v9.mae)


# ------------------------------------------------------------------ candidate errors


def _raises(features: Any) -> list[float]:
    raise RuntimeError("model weights not found")


def _exits(features: Any) -> list[float]:
    import sys

    sys.exit(0)  # the gate ended with exit 0, no report, nothing measured


def _reordered(features: Any) -> Any:
    return features["line_value"].sort_values()  # a Series: misaligned if read by position


BROKEN = {
    "raises": (_raises, "predict raised RuntimeError: model weights not found"),
    "exits": (_exits, "predict raised SystemExit(0): the candidate called sys.exit"),
    "reordered": (_reordered, "returned a Series whose index is not the input's"),
    "short": (lambda f: [20.0] * (len(f) - 1), "returned 3926 values for 3927"),
    "nan": (lambda f: [math.nan] + [20.0] * (len(f) - 1), "prediction nan at row 0"),
    "text": (lambda f: ["twenty"] * len(f), "value 'twenty' at row 0 is not a number"),
    # float() reads "12.3": a model returning text is broken all the same (docs: refused)
    "numeric text": (lambda f: ["12.3"] * len(f), "value '12.3' at row 0 is not a number"),
    "scalar": (lambda f: 20.0, "returned float, not a sequence"),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_a_broken_candidate_is_bad_input_with_one_line_exit_2(
    kind: str, isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    function, message = BROKEN[kind]
    monkeypatch.setattr(examples, "broken", function, raising=False)
    request = RegressionRequest(model="nbaops.regression.examples:broken")
    code = run(lambda ctx: run_regression(ctx, request))
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_what_a_candidate_prints_goes_to_stderr_and_json_stays_one_document(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    """A model that prints while it loads and predicts (Python's print, and a native
    library writing to descriptor 1) made ``inv regression --model M --json`` print text
    before the document: not JSON. Its output goes to stderr; stdout is the document."""
    (isolated / "noisy_candidate_h16.py").write_text(
        "import os\n"
        "print('loading weights...')\n"
        "def predict(frame):\n"
        "    print('predicting', len(frame))\n"
        "    os.write(1, b'native library says hi\\n')\n"
        "    return frame['season_avg'].round(1).tolist()\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(isolated))
    request = RegressionRequest(model="noisy_candidate_h16:predict", html=isolated / "r.html")
    code = run(lambda ctx: run_regression(ctx, request), json_output=True)
    out, err = capfd.readouterr()
    document = json.loads(out)
    assert document["source"]["label"].endswith("(3927 predictions)")
    assert code == exit_code_for(Verdict(document["verdict"]))
    for line in ("loading weights...", "predicting 3927", "native library says hi"):
        assert line in err and line not in out


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nbaops.regression.examples", "expected MODULE:FUNCTION"),
        ("no_such_module_h15:predict", "cannot import no_such_module_h15"),
        ("nbaops.regression.examples:missing", "has no attribute 'missing'"),
        ("nbaops.regression.golden:GOLDEN_NAME", "is not callable"),
    ],
)
def test_a_model_spec_that_does_not_resolve_is_bad_input(spec: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        candidate.load_model(spec)


def test_a_model_function_that_is_none_is_reported_as_none_not_missing(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``predict = None`` (a placeholder until weights load) was reported as 'has no
    attribute', sending the user to look for a typo in a name that is there."""
    (isolated / "none_model_h19.py").write_text("predict = None\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(isolated))
    with pytest.raises(UsageError, match=r"predict is not callable \(it is None\)$"):
        candidate.load_model("none_model_h19:predict")


def test_a_predictions_file_missing_player_games_or_with_bad_values_is_bad_input(
    isolated: Path,
) -> None:
    con = nba_data.connect()
    golden.load_golden(con, ROOT)
    partial = isolated / "partial.csv"
    con.execute(
        "COPY (SELECT game_id, player_lookup, v8_points AS predicted_points FROM golden_games "
        f"LIMIT 10) TO '{partial}' (HEADER)"
    )
    with pytest.raises(UsageError, match="3917 golden player-games have no prediction"):
        candidate.load_predictions(con, partial)
    bad = isolated / "bad.csv"
    bad.write_text("game_id,player_lookup,predicted_points\ng1,p1,abc\n", encoding="utf-8")
    with pytest.raises(UsageError, match="value 'abc' in row 1 is not a finite number"):
        candidate.load_predictions(con, bad)
    dup = isolated / "dup.csv"
    dup.write_text("game_id,player_lookup,predicted_points\ng,p,1\ng,p,2\n", encoding="utf-8")
    with pytest.raises(UsageError, match="2 predictions for p in game g"):
        candidate.load_predictions(con, dup)
    with pytest.raises(UsageError, match="missing column"):
        (isolated / "cols.csv").write_text("a,b\n1,2\n", encoding="utf-8")
        candidate.load_predictions(con, isolated / "cols.csv")


def test_a_parquet_game_id_stored_as_a_number_is_named_as_the_problem(isolated: Path) -> None:
    """An integer game_id in a Parquet file lost its leading zeros ('0022400005' became
    '22400005'): every golden player-game was reported without a prediction."""
    con = nba_data.connect()
    golden.load_golden(con, ROOT)
    numeric = isolated / "numeric.parquet"
    con.execute(
        "COPY (SELECT CAST(game_id AS BIGINT) AS game_id, player_lookup, v8_points AS "
        f"predicted_points FROM golden_games) TO '{numeric}' (FORMAT PARQUET)"
    )
    with pytest.raises(UsageError, match="column game_id is BIGINT, not text: game ids are"):
        candidate.load_predictions(con, numeric)
