"""Adapters: the only modules that talk to Google Cloud (or its local stand-ins).

Each adapter wraps one official client (``google.cloud.run_v2``, ``google.cloud.bigquery``;
Cloud Logging's REST ``entries.list`` through ``google.auth``'s authorized session, see
:mod:`nbaops.adapters.logs`), imports it lazily inside its functions, and turns every client
failure into a typed :class:`~nbaops.errors.AdapterError` with a one-line message.
"""
