"""The ``deploy.canary_analysis`` config section, typed (docs/canary.md).

One declaration per setting: :data:`METRIC_DEFAULTS` holds every built-in metric's
defaults; ``schemas/config.schema.json`` describes the same keys so a typo fails with
exit 2. Per service, ``deploy.canary_analysis.services.<service>`` overrides any built-in
metric's keys and may add ``custom`` metrics (log-based or custom metrics in Cloud
Monitoring).

Keys of a metric:

- ``enabled`` [true]
- ``min_sample``: requests (or, for a ``gauge`` metric, intervals) each revision needs
  before the test is trusted; fewer on either side is INCONCLUSIVE, never PASS.
- ``margin``: how much worse the canary may be before it can FAIL — absolute for
  ``error_rate`` (0.005 = half a percentage point), relative for the others
  (0.10 = 10% higher percentile or mean).
- ``direction`` [increase]: which way is worse (``increase`` or ``decrease``); a canary
  better than its baseline never fails.
- ``percentile`` [95]: the latency percentile whose ratio is the effect size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from nbaops.errors import ConfigError

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"

KINDS = ("error_rate", "distribution", "gauge", "instances")
DIRECTIONS = ("increase", "decrease")


@dataclass(frozen=True)
class MetricSpec:
    """One metric to compare: what to read and how to judge it."""

    name: str
    kind: str  # error_rate | distribution | gauge | instances
    metric_type: str
    enabled: bool = True
    min_sample: int = 0
    margin: float = 0.0
    direction: str = "increase"
    percentile: float = 95.0

    def describe(self) -> str:
        worse = "higher" if self.direction == "increase" else "lower"
        unit = "absolute" if self.kind == "error_rate" else "relative"
        return f"{worse} is worse; margin {self.margin:g} ({unit}); min sample {self.min_sample}"


METRIC_DEFAULTS: dict[str, MetricSpec] = {
    # 2000 canary requests catch a doubling of a 1% error rate with >= 90% power at
    # alpha 0.05 and a 20/80 split (tests/unit/test_canary_analysis.py checks it).
    "error_rate": MetricSpec("error_rate", "error_rate", REQUEST_COUNT, True, 2000, 0.005),
    "latency": MetricSpec("latency", "distribution", REQUEST_LATENCIES, True, 500, 0.10),
    "instance_count": MetricSpec("instance_count", "instances", INSTANCE_COUNT, True, 1, 0.0),
}


@dataclass(frozen=True)
class CanarySettings:
    """How a canary is compared with its baseline (``deploy.canary_analysis``)."""

    enabled: bool = True
    window_s: int = 600
    alignment_s: int = 60
    alpha: float = 0.05
    max_pages: int = 10
    metrics: tuple[MetricSpec, ...] = field(default_factory=lambda: tuple(METRIC_DEFAULTS.values()))
    service_overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def from_config(cls, section: Mapping[str, Any]) -> CanarySettings:
        """Build from ``deploy.canary_analysis``.

        Raises:
            ConfigError: a value the schema cannot express (e.g. window < alignment).
        """
        d = cls()
        metrics = _merge_metrics(tuple(METRIC_DEFAULTS.values()), section.get("metrics") or {})
        settings = cls(
            enabled=bool(section.get("enabled", d.enabled)),
            window_s=int(section.get("window_s", d.window_s)),
            alignment_s=int(section.get("alignment_s", d.alignment_s)),
            alpha=float(section.get("alpha", d.alpha)),
            max_pages=int(section.get("max_pages", d.max_pages)),
            metrics=metrics,
            service_overrides=dict(section.get("services") or {}),
        )
        if settings.alignment_s < 60 or settings.window_s < settings.alignment_s:
            raise ConfigError(
                "deploy.canary_analysis: alignment_s must be >= 60 and window_s >= alignment_s "
                f"(got {settings.alignment_s} and {settings.window_s})"
            )
        if not 0.0 < settings.alpha < 0.5:
            raise ConfigError(f"deploy.canary_analysis.alpha: {settings.alpha} is not in (0, 0.5)")
        for name in settings.service_overrides:
            settings.for_service(name)  # validate every override now, not mid-deploy
        return settings

    def for_service(self, service: str) -> tuple[MetricSpec, ...]:
        """The enabled metrics of ``service``: defaults, its overrides, its custom metrics.

        Raises:
            ConfigError: an unknown metric name or a bad custom metric.
        """
        override = dict(self.service_overrides.get(service) or {})
        custom = override.pop("custom", []) or []
        metrics = _merge_metrics(self.metrics, override, where=f"services.{service}.")
        extra = tuple(_custom(service, item) for item in custom)
        return tuple(m for m in (*metrics, *extra) if m.enabled)


_KEYS = {"enabled": bool, "min_sample": int, "margin": float, "direction": str, "percentile": float}


def _apply(spec: MetricSpec, values: Mapping[str, Any], where: str) -> MetricSpec:
    changes: dict[str, Any] = {}
    for key, value in values.items():
        if key not in _KEYS:
            raise ConfigError(f"deploy.canary_analysis.{where}{spec.name}: unknown key {key!r}")
        changes[key] = _KEYS[key](value)
    out = replace(spec, **changes)
    if out.direction not in DIRECTIONS:
        raise ConfigError(
            f"deploy.canary_analysis.{where}{spec.name}.direction: {out.direction!r} is not "
            f"one of {', '.join(DIRECTIONS)}"
        )
    if out.min_sample < 1 or out.margin < 0 or not 0 < out.percentile < 100:
        raise ConfigError(
            f"deploy.canary_analysis.{where}{spec.name}: min_sample must be >= 1, margin >= 0 "
            "and percentile in (0, 100)"
        )
    return out


def _merge_metrics(
    base: tuple[MetricSpec, ...], overrides: Mapping[str, Any], where: str = "metrics."
) -> tuple[MetricSpec, ...]:
    by_name = {m.name: m for m in base}
    for name, values in overrides.items():
        if name not in by_name:
            raise ConfigError(
                f"deploy.canary_analysis.{where}{name}: unknown metric; built-in metrics are "
                f"{', '.join(METRIC_DEFAULTS)} (add others under custom)"
            )
        by_name[name] = _apply(by_name[name], values or {}, where)
    return tuple(by_name.values())


def _custom(service: str, item: Mapping[str, Any]) -> MetricSpec:
    where = f"services.{service}.custom"
    try:
        name, kind, metric_type = str(item["name"]), str(item["kind"]), str(item["metric_type"])
    except KeyError as exc:
        raise ConfigError(f"deploy.canary_analysis.{where}: missing {exc.args[0]}") from None
    if kind not in ("distribution", "gauge"):
        raise ConfigError(
            f"deploy.canary_analysis.{where}.{name}.kind: {kind!r} is not distribution or gauge"
        )
    defaults = MetricSpec(name, kind, metric_type, True, 500 if kind == "distribution" else 5, 0.1)
    rest = {k: v for k, v in item.items() if k not in ("name", "kind", "metric_type")}
    return _apply(defaults, rest, f"{where}.")
