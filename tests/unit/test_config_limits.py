"""Issue 14 item 4: config numbers are bounded and finite, YAML loading has size, alias and
depth limits, and batch slots are validated when the config loads. Each case is one
ConfigError line (exit 2 through the runner), fast, and nothing is changed."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from nbaops import yaml_load
from nbaops.checks.registry import ALL_SPECS
from nbaops.checks.thresholds import RUNNER_KEYS, thresholds_from_section
from nbaops.cli.runner import run
from nbaops.config import load_config
from nbaops.errors import ConfigError
from nbaops.report import CheckReport
from nbaops.yaml_load import MAX_BYTES, load_bounded

REPO = Path(__file__).resolve().parents[2]
BASE = (REPO / "nbaops.yaml").read_text(encoding="utf-8")


def with_checks(tmp_path: Path, **checks: Any) -> Path:
    data = yaml.safe_load(BASE)
    for key, value in checks.items():
        section = data["checks"]
        *parents, leaf = key.split("__")
        for part in parents:
            section = section.setdefault(part, {})
        section[leaf] = value
    path = tmp_path / "nbaops.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def load_fails(path: Path, needle: str) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(path, "local")
    message = str(info.value)
    assert needle in message and "\n" not in message, message
    assert info.value.exit_code == 2
    return message


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("timeout_s", 1e308, "timeout_s"),
        ("timeout_s", float("inf"), "timeout_s"),
        ("timeout_s", float("nan"), "not a finite number"),
        ("max_workers", 10_000, "max_workers"),
        ("grading_completeness__lag_warn_hours", 1e300, "lag_warn_hours"),
        ("recent_predictions__batch_slots", ["25:99"], "batch_slots"),
        ("recent_predictions__batch_slots", ["7:00"], "batch_slots"),
    ],
)
def test_out_of_range_numbers_and_bad_slots_fail_loading(
    tmp_path: Path, key: str, value: Any, needle: str
) -> None:
    load_fails(with_checks(tmp_path, **{key: value}), needle)


@pytest.mark.parametrize(
    ("section", "needle"),
    [
        ({"timeout_s": 1e308}, "above the maximum 3600"),
        ({"timeout_s": float("nan")}, "not a finite number"),
        ({"recent_predictions": {"batch_slots": ["02:30", "25:99"]}}, "'25:99' is not a time"),
    ],
)
def test_the_thresholds_registry_enforces_the_same_bounds(section: Any, needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        thresholds_from_section(section)


def test_every_number_in_the_config_schema_has_an_upper_bound() -> None:
    schema = json.loads((REPO / "schemas" / "config.schema.json").read_text(encoding="utf-8"))
    unbounded: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("number", "integer") and not (
                "maximum" in node or "exclusiveMaximum" in node
            ):
                unbounded.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "")
    assert unbounded == []
    checks = schema["$defs"]["checks"]["properties"]
    for name, key in RUNNER_KEYS.items():
        assert checks[name]["maximum"] == key.upper_bound
    for check, spec in ALL_SPECS.items():
        for name, key in spec.keys.items():
            if key.upper_bound is not None:
                assert checks[check]["properties"][name]["maximum"] == key.upper_bound, name


ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
       f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
       f"*{chr(97 + i)}]" for i in range(8)]
)  # fmt: skip
DEEP = "a: " + "[" * 1000 + "]" * 1000
DEEP_MAP = "".join(f"{'  ' * i}k{i}:\n" for i in range(1000)) + "  " * 1000 + "v: 1\n"


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        (ALIAS_BOMB, "alias"),
        ("x: &x [1]\n" + "\n".join(f"y{i}: *x" for i in range(200)), "aliases"),
        (DEEP, "nested more than"),
        (DEEP_MAP, "nested more than"),
        ("a: .nan\n", "not a finite number"),
        ("a: [1, .inf]\n", "not a finite number"),
        ("a: b: c\n", "invalid YAML"),
    ],
    ids=["alias-bomb", "many-aliases", "deep-flow", "deep-map", "nan", "inf", "syntax"],
)
def test_hostile_yaml_is_one_line_and_fast(text: str, needle: str) -> None:
    started = time.process_time()  # CPU, not wall: a loaded machine does not fail it
    with pytest.raises(ConfigError) as info:
        load_bounded(text, "override.yaml")
    assert time.process_time() - started < 5.0  # the bomb is refused, not expanded
    message = str(info.value)
    assert needle in message and "\n" not in message and len(message) < 300, message


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("version: 1\nversion: 2\n", ":2:1:"),
        ("checks:\n  lines_coverage:\n    fail_below: 0.9\n    fail_below: 0.1\n", ":4:5:"),
        ("a: [{x: 1, x: 2}]\n", ":1:12:"),
    ],
    ids=["top", "nested", "flow"],
)
def test_a_key_written_twice_in_one_mapping_is_refused_with_its_line(text: str, where: str) -> None:
    """PyYAML keeps the last of two equal keys silently: a second fail_below further down
    a section quietly replaced the first."""
    with pytest.raises(ConfigError, match="appears twice in the same mapping") as info:
        load_bounded(text, "nbaops.yaml")
    assert str(info.value).startswith(f"nbaops.yaml{where} invalid YAML: key ")


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("waivers:\n  - {rule: X, expires: 2027-02-29}\n", ":2:24:"),
        ("a: 1\nsince: 2026-06-31\n", ":2:8:"),
    ],
)
def test_a_date_that_does_not_exist_is_one_line_with_its_place(text: str, where: str) -> None:
    # PyYAML builds YAML timestamps with datetime: February 29th of a common year raised a
    # ValueError, an internal-error traceback instead of a config error.
    with pytest.raises(ConfigError) as info:
        load_bounded(text, "nbaops.yaml")
    assert str(info.value) == f"nbaops.yaml{where} invalid value: day is out of range for month"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "enabled: yes\ntrue: 1\nyes: 2\n",
            "key 'yes' appears twice in the same mapping (as 'true' before)",
        ),
        ("a: {1: x, 0x1: y}\n", "key '0x1' appears twice in the same mapping (as '1' before)"),
        ("a: 1\n'a': 2\n", "key 'a' appears twice in the same mapping"),
    ],
    ids=["bool", "int", "quoted"],
)
def test_keys_written_differently_but_built_equal_are_refused(text: str, message: str) -> None:
    """The duplicate check compared the keys' text: 'true:' and 'yes:' (both True to the
    loader) passed, and the second silently replaced the first."""
    for loader in {yaml_load._FAST_LOADER, yaml.SafeLoader}:  # libyaml and the reference
        with pytest.raises(yaml.MarkedYAMLError, match=re.escape(message)):
            yaml_load._check_shape(text, loader)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_bounded(text, "nbaops.yaml")


def test_keys_written_alike_but_built_different_still_load() -> None:
    """1 and '1' are two keys (an int and a string): no longer refused as one."""
    assert load_bounded("a: {1: x, '1': y}\n", "ok.yaml") == {"a": {1: "x", "1": "y"}}


def test_equal_keys_in_different_mappings_and_merge_keys_still_load() -> None:
    text = "a: {x: 1}\nb: {x: 2}\nc: [{x: 1}, {x: 2}]\nd:\n  <<: {k: 1}\n  x: 3\n"
    assert load_bounded(text, "ok.yaml") == {
        "a": {"x": 1},
        "b": {"x": 2},
        "c": [{"x": 1}, {"x": 2}],
        "d": {"k": 1, "x": 3},
    }


def test_a_table_listed_twice_in_tables_yaml_is_a_layout_error() -> None:
    from nbaops.bqschema.parse import LayoutError, parse_layouts

    with pytest.raises(LayoutError, match="'nba_raw.games' appears twice"):
        parse_layouts("nba_raw.games: {partition: game_date}\nnba_raw.games: {}\n")


def test_oversized_file_is_refused() -> None:
    with pytest.raises(ConfigError, match="larger than"):
        load_bounded("#" * (MAX_BYTES + 1), "big.yaml")


def test_a_normal_config_still_loads_with_anchors() -> None:
    assert load_bounded("a: &x {k: 1}\nb: *x\n", "ok.yaml") == {"a": {"k": 1}, "b": {"k": 1}}


@pytest.mark.parametrize("payload", [ALIAS_BOMB, DEEP, None], ids=["bomb", "deep", "1e308"])
def test_through_the_runner_exit_2_one_line(
    payload: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = tmp_path / "nbaops.yaml"
    if payload is None:
        path = with_checks(tmp_path, timeout_s=1e308)
    else:
        path.write_text(BASE + "\n" + payload.replace("a:", "zz_extra:", 1), encoding="utf-8")
    monkeypatch.setenv("NBAOPS_CONFIG", str(path))
    monkeypatch.setenv("NBAOPS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBAOPS_PROFILE", raising=False)
    for json_output in (False, True):
        capsys.readouterr()
        code = run(lambda ctx: CheckReport("noop", []), json_output=json_output)
        out, err = capsys.readouterr()
        assert code == 2
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        if json_output:
            assert json.loads(out)["exit_code"] == 2
    assert not (tmp_path / "home").exists() or not any((tmp_path / "home").iterdir())


def test_brackets_in_quotes_and_comments_do_not_count_as_nesting() -> None:
    text = "a: '" + "[" * 100 + "'\nb: \"" + "{" * 100 + '"  # ' + "[" * 100 + "\nc: [[1]]\n"
    assert load_bounded(text, "ok.yaml")["c"] == [[1]]


def test_libyaml_loads_the_config_as_the_pure_python_loader_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """libyaml (the fast path every run takes) and the reference loader read nbaops.yaml
    alike and refuse the same hostile input; the limits hold on either path."""
    from nbaops import yaml_load

    assert yaml_load._FAST_LOADER is getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    text = (Path(__file__).resolve().parents[2] / "nbaops.yaml").read_text(encoding="utf-8")
    fast = load_bounded(text, "nbaops.yaml")
    many_aliases = "x: &x [1]\n" + "\n".join(f"y{i}: *x" for i in range(200))
    monkeypatch.setattr(yaml_load, "_FAST_LOADER", yaml.SafeLoader)
    assert load_bounded(text, "nbaops.yaml") == fast
    for hostile, needle in ((DEEP_MAP, "nested more than"), (many_aliases, "aliases")):
        with pytest.raises(ConfigError, match=needle):
            load_bounded(hostile, "override.yaml")


@pytest.mark.parametrize(
    ("make", "needle"),
    [
        (lambda tmp: Path("/dev/zero"), "not a regular file"),
        (lambda tmp: (os.mkfifo(tmp / "fifo"), tmp / "fifo")[1], "not a regular file"),
        (lambda tmp: tmp, "a folder"),
        (
            lambda tmp: (tmp / "big.yaml", (tmp / "big.yaml").write_bytes(b"#" * 3 * MAX_BYTES))[0],
            "larger than",
        ),
    ],
    ids=["dev-zero", "fifo-without-writer", "folder", "huge-file"],
)
def test_a_config_that_is_no_file_or_endless_is_refused_before_it_is_read(
    tmp_path: Path, make: Any, needle: str
) -> None:
    """``NBAOPS_CONFIG=/dev/zero`` read for ever (4.5 GB in 5 s) before the size check, and
    a FIFO nobody writes blocked in open(): both are one line now, read no further than
    the limit."""
    path = make(tmp_path)
    started = time.monotonic()
    with pytest.raises(ConfigError, match=needle):
        load_config(path, "local")
    assert time.monotonic() - started < 5
