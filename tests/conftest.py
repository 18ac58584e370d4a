"""Suite-wide settings: no dlt telemetry (this machine reaches no outside host; tests must not try)."""

import os

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
