"""intercom_sim: a stateful local simulator of Intercom's REST API 2.11 (see docs/simulator-contract.md).

`Workspace` (workspace.py: state.py, generate/, mutations.py) holds the data; `start()` serves it with a
`SimServer` (server.py: the transport; routes/ the endpoints; middleware.py, control.py).
"""

from __future__ import annotations

from .server import Knobs, SimServer, start
from .workspace import Clock, Workspace

__all__ = ["Clock", "Knobs", "SimServer", "Workspace", "start"]
