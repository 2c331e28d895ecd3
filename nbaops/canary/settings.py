"""The ``deploy.canary_analysis`` config section, typed (docs/canary.md).

One declaration per setting: :data:`METRIC_DEFAULTS` holds every built-in metric's
defaults; ``schemas/config.schema.json`` describes the same keys so a typo fails with
exit 2. Per service, ``deploy.canary_analysis.services.<service>`` overrides any built-in
metric's keys and may add ``custom`` metrics (log-based or custom metrics in Cloud
Monitoring).

The keys of a metric are :class:`MetricSpec`'s judging fields (docs/canary.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from nbaops.errors import ConfigError
from nbaops.run_metrics import INSTANCE_COUNT, REQUEST_COUNT, REQUEST_LATENCIES
from nbaops.settings import load_section, setting

DIRECTIONS = ("increase", "decrease")


@dataclass(frozen=True)
class MetricSpec:
    """One metric to compare: what to read and how to judge it."""

    name: str
    kind: str  # error_rate | distribution | gauge | instances
    metric_type: str
    enabled: bool = True
    # requests (intervals for a gauge) each revision needs: fewer is INCONCLUSIVE, never PASS
    min_sample: int = setting(0, minimum=1)
    # how much worse may pass: absolute for error_rate (0.005 = half a percentage point),
    # relative for the others (0.10 = 10% higher percentile or mean)
    margin: float = setting(0.0, minimum=0)
    direction: str = setting("increase", choices=DIRECTIONS)  # which way is worse
    percentile: float = setting(95.0, above=0, below=100)  # the latency percentile compared


METRIC_DEFAULTS: dict[str, MetricSpec] = {
    # 2000 canary requests catch a doubling of a 1% error rate with >= 90% power at
    # alpha 0.05 and a 20/80 split (tests/unit/test_canary_analysis.py checks it).
    "error_rate": MetricSpec("error_rate", "error_rate", REQUEST_COUNT, True, 2000, 0.005),
    "latency": MetricSpec("latency", "distribution", REQUEST_LATENCIES, True, 500, 0.10),
    "instance_count": MetricSpec("instance_count", "instances", INSTANCE_COUNT, True, 1, 0.0),
}
WHERE = "deploy.canary_analysis"


@dataclass(frozen=True)
class CanarySettings:
    """How a canary is compared with its baseline (``deploy.canary_analysis``)."""

    enabled: bool = True
    window_s: int = 600
    alignment_s: int = setting(60, minimum=60)
    alpha: float = setting(0.05, above=0.0, below=0.5)
    max_pages: int = 10
    # Cloud Monitoring shows Cloud Run's request metrics up to 180 s after sampling
    # (cloud.google.com/monitoring/api/metrics_gcp): a round judges only older data
    ingestion_delay_s: int = setting(180, minimum=0, maximum=3600)
    metric_overrides: Mapping[str, Mapping[str, Any]] = setting(key="metrics", factory=dict)
    service_overrides: Mapping[str, Mapping[str, Any]] = setting(key="services", factory=dict)

    @cached_property
    def metrics(self) -> tuple[MetricSpec, ...]:
        """The built-in metrics with the ``metrics:`` overrides applied."""
        return _merge_metrics(tuple(METRIC_DEFAULTS.values()), self.metric_overrides)

    def check(self, where: str) -> None:
        if self.window_s < self.alignment_s:
            raise ConfigError(
                f"{where}: window_s must be >= alignment_s "
                f"(got {self.window_s} and {self.alignment_s})"
            )
        for name in ("*", *self.service_overrides):  # "*": the metrics every service shares
            self.for_service(name)  # validate every override now, not mid-deploy

    def for_service(self, service: str) -> tuple[MetricSpec, ...]:
        """The enabled metrics of ``service``: defaults, its overrides, its custom metrics.

        Raises:
            ConfigError: an unknown metric name or a bad custom metric.
        """
        override = dict(self.service_overrides.get(service) or {})
        custom = override.pop("custom", []) or []
        metrics = _merge_metrics(self.metrics, override, where=f"services.{service}.")
        extra = tuple(_custom(service, item) for item in custom)
        names = [m.name for m in (*metrics, *extra)]
        if len(set(names)) != len(names):  # two rows of one name: the alert named the wrong one
            twice = sorted({n for n in names if names.count(n) > 1})
            raise ConfigError(
                f"{WHERE}.services.{service}.custom: metric name {twice[0]!r} is taken "
                "(a built-in metric or another custom one): give it its own name"
            )
        enabled = tuple(m for m in (*metrics, *extra) if m.enabled)
        if self.enabled and not any(m.kind != "instances" for m in enabled):
            # instance_count is reported, never judged: a canary would pass unmeasured
            where = WHERE if service == "*" else f"{WHERE}.services.{service}"
            raise ConfigError(
                f"{where}: no metric that judges the canary is enabled (error_rate, latency "
                "or a custom one; instance_count is only reported); enable one, or turn the "
                "analysis off with deploy.canary_analysis.enabled: false"
            )
        return enabled


def _merge_metrics(
    base: tuple[MetricSpec, ...], overrides: Mapping[str, Any], where: str = "metrics."
) -> tuple[MetricSpec, ...]:
    by_name = {m.name: m for m in base}
    for name, values in overrides.items():
        if name not in by_name:
            raise ConfigError(
                f"{WHERE}.{where}{name}: unknown metric; built-in metrics are "
                f"{', '.join(METRIC_DEFAULTS)} (add others under custom)"
            )
        by_name[name] = _apply(by_name[name], values, f"{WHERE}.{where}{name}")
    return tuple(by_name.values())


def _apply(spec: MetricSpec, values: Mapping[str, Any] | None, where: str) -> MetricSpec:
    """``spec`` with the judging keys of ``values`` (never its name, kind or metric)."""
    fixed = set(values or {}) & {"name", "kind", "metric_type"}
    if fixed:
        raise ConfigError(f"{where}: unknown key {sorted(fixed)[0]!r}")
    return load_section(values, MetricSpec, where, base=spec, strict=True)


def _custom(service: str, item: Mapping[str, Any]) -> MetricSpec:
    where = f"{WHERE}.services.{service}.custom"
    try:
        name, kind, metric_type = str(item["name"]), str(item["kind"]), str(item["metric_type"])
    except KeyError as exc:
        raise ConfigError(f"{where}: missing {exc.args[0]}") from None
    if kind not in ("distribution", "gauge"):
        raise ConfigError(f"{where}.{name}.kind: {kind!r} is not distribution or gauge")
    defaults = MetricSpec(name, kind, metric_type, True, 500 if kind == "distribution" else 5, 0.1)
    rest = {k: v for k, v in item.items() if k not in ("name", "kind", "metric_type")}
    return _apply(defaults, rest, f"{where}.{name}")
