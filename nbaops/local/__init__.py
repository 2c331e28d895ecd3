"""Local stand-ins for Google Cloud services (local profile and tests).

``standin`` serves Cloud Run Admin API v2 (REST), Cloud Logging ``entries:list`` and each
revision's health endpoint on 127.0.0.1; ``cloudrun_state`` and ``log_store`` hold its
persisted state; ``api_faults`` injects API failures for fault tests.
"""
