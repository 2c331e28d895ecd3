"""Cloud Run's built-in Cloud Monitoring metric types nbaops reads, declared once: the
canary analysis compares revisions by them (:mod:`nbaops.canary.settings`) and the local
stand-in simulates them (:mod:`nbaops.local.monitoring_api`). Their kinds and units:
cloud.google.com/monitoring/api/metrics_gcp, gcp-run."""

from __future__ import annotations

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
INSTANCE_COUNT = "run.googleapis.com/container/instance_count"
