"""The one settings convention (nbaops.settings.load_section) and the sections built on it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from dataclasses import dataclass, field
from typing import Any

import pytest

from nbaops.errors import ConfigError
from nbaops.settings import load_section, setting


@dataclass(frozen=True)
class Inner:
    count: int = setting(3, minimum=1)


@dataclass(frozen=True)
class Probe:
    wait: dt.timedelta = setting(dt.timedelta(hours=1), key="wait_for")
    share: float = setting(0.5, above=0.0, below=1.0)
    mode: str = setting("a", choices=("a", "b"))
    edges: tuple[float, ...] = (1.0, 2.0)
    url: str | None = None
    inner: Inner = field(default_factory=Inner)

    def check(self, where: str) -> None:
        if self.mode == "b" and self.share > 0.9:
            raise ConfigError(f"{where}: mode b needs share <= 0.9")


def test_absent_keys_keep_their_defaults_and_present_ones_are_typed() -> None:
    assert load_section({}, Probe, "p") == Probe()
    got = load_section(
        {"wait_for": "6h", "share": "0.25", "edges": [3, 4], "url": "https://x", "inner": {}},
        Probe,
        "p",
    )
    assert got.wait == dt.timedelta(hours=6) and got.share == 0.25 and got.edges == (3.0, 4.0)
    assert got.url == "https://x" and got.inner == Inner()
    assert load_section({"share": None}, Probe, "p").share == 0.5  # YAML null = absent


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"wait_for": "soon"}, "p.wait_for: "),
        ({"share": 1.0}, "p.share: 1.0 must be below 1.0"),
        ({"share": 0}, "p.share: 0.0 must be above 0.0"),
        ({"share": "half"}, "p.share: could not convert"),
        ({"share": True}, "p.share: True is not a number"),
        ({"mode": "c"}, "p.mode: 'c' is not one of a, b"),
        ({"inner": {"count": 0}}, "p.inner.count: 0 must be >= 1"),
        ({"mode": "b", "share": 0.95}, "p: mode b needs share <= 0.9"),
    ],
)
def test_a_bad_value_is_one_config_error_line_naming_the_key(
    values: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_section(values, Probe, "p")
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_strict_refuses_unknown_keys_and_base_supplies_defaults() -> None:
    assert load_section({"colour": 1}, Inner, "i").count == 3  # not strict: the schema's job
    with pytest.raises(ConfigError, match="i: unknown key 'colour'"):
        load_section({"colour": 1}, Inner, "i", strict=True)
    assert load_section({}, Inner, "i", base=Inner(count=9)).count == 9


def test_the_config_sections_load_through_it(tmp_path: object) -> None:
    from nbaops.alerts.settings import AlertSettings
    from nbaops.config import load_config
    from nbaops.drift.settings import DriftSettings
    from nbaops.paths import project_root
    from nbaops.regression.settings import RegressionSettings

    config = load_config(project_root() / "nbaops.yaml", profile="local")
    alerts = config.settings("alerts", AlertSettings)
    assert alerts.suppression == dt.timedelta(hours=12) and alerts.timeout_s > 0
    assert config.settings("drift", DriftSettings).window >= dt.timedelta(0)
    assert config.settings("regression", RegressionSettings).golden.ewma_halflife > 0


# Keys of a section that another reader owns (not a field of the section's settings type).
READ_ELSEWHERE = {
    "alerts": {"anomaly"},  # AnomalySettings (own row)
    "deploy": {"canary_analysis"},  # CanarySettings (own row)
    "deploy.canary_analysis": {"metrics"},  # merged per metric by canary.settings._apply
}


def _properties(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        node = schema["$defs"][ref.rsplit("/", 1)[1]]
    return dict(node.get("properties", {}))


def _mismatches(schema: dict[str, Any], node: dict[str, Any], cls: type, where: str) -> list[str]:
    props = _properties(schema, node)
    keys = {f.metadata.get("key") or f.name: f.name for f in dataclasses.fields(cls)}
    out = [f"{where}.{k}: a setting the schema refuses" for k in keys if k not in props]
    out += [
        f"{where}.{k}: in the schema, read by no setting"
        for k in props
        if k not in keys and k not in READ_ELSEWHERE.get(where, set())
    ]
    hints = typing.get_type_hints(cls)
    for key, name in keys.items():
        if dataclasses.is_dataclass(hints[name]) and key in props:
            out += _mismatches(schema, props[key], hints[name], f"{where}.{key}")
    return out


def test_every_setting_is_in_the_config_schema_and_every_schema_key_is_read() -> None:
    import json
    from pathlib import Path

    from nbaops.alerts.settings import AlertSettings
    from nbaops.anomaly import AnomalySettings
    from nbaops.canary.settings import CanarySettings
    from nbaops.deploy.settings import DeploySettings
    from nbaops.drift.settings import DriftSettings
    from nbaops.regression.settings import RegressionSettings

    root = Path(__file__).resolve().parents[2]
    schema = json.loads((root / "schemas" / "config.schema.json").read_text(encoding="utf-8"))
    top = schema["properties"]
    rows = [
        (top["alerts"], AlertSettings, "alerts"),
        (_properties(schema, top["alerts"])["anomaly"], AnomalySettings, "alerts.anomaly"),
        (top["drift"], DriftSettings, "drift"),
        (top["deploy"], DeploySettings, "deploy"),
        (
            _properties(schema, top["deploy"])["canary_analysis"],
            CanarySettings,
            "deploy.canary_analysis",
        ),
        (top["regression"], RegressionSettings, "regression"),
    ]
    problems = [p for node, cls, where in rows for p in _mismatches(schema, node, cls, where)]
    assert problems == []


@dataclass(frozen=True)
class Entry:
    name: str = ""
    until: dt.date = dt.date.min


@dataclass(frozen=True)
class Listing:
    tags: frozenset[str] = setting(frozenset(), choices=("x", "y"))
    entries: tuple[Entry, ...] = ()


def test_lists_become_tuples_or_frozensets_of_checked_items_and_dates_parse() -> None:
    got = load_section(
        {"tags": ["x", "y", "x"], "entries": [{"name": "a", "until": "2027-01-31"},
                                              {"name": "b", "until": dt.datetime(2027, 2, 1, 9)}]},
        Listing,
        "l",
        strict=True,
    )  # fmt: skip
    assert got.tags == frozenset({"x", "y"})
    assert got.entries == (Entry("a", dt.date(2027, 1, 31)), Entry("b", dt.date(2027, 2, 1)))


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["tags"], "l: must be a mapping"),
        ({"tags": "x"}, "l.tags: must be a list"),
        ({"tags": ["z"]}, "l.tags[0]: 'z' is not one of x, y"),
        ({"entries": ["a"]}, "l.entries[0]: must be a mapping"),
        ({"entries": [{"name": 7}]}, "l.entries[0].name: 7 is not text"),
        ({"entries": [{"until": "soon"}]}, "l.entries[0].until: must be a date (YYYY-MM-DD)"),
        ({"entries": [{"nmae": "a"}]}, "l.entries[0]: unknown key 'nmae'"),  # strict nests
    ],
)
def test_bad_lists_and_items_are_one_line_naming_the_item(values: Any, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_section(values, Listing, "l", strict=True)
    assert str(raised.value) == message
