"""intercom_sim: a stateful local simulator of Intercom's REST API 2.11 (see docs/simulator-contract.md)."""

from __future__ import annotations

from typing import Any

from .server import Knobs, SimServer
from .workspace import Clock, Workspace

__all__ = ["Clock", "Knobs", "SimServer", "Workspace", "start"]


def start(workspace: Workspace, port: int = 0, token: str = "sim-token", **knobs: Any) -> SimServer:
    """Serve `workspace` on 127.0.0.1:`port` (0 = any free port) in a background thread."""
    return SimServer(workspace, port=port, token=token, **knobs)
