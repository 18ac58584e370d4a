"""The control API under `/_sim/` (not counted, not rate limited): counters, clock, knobs, mutations.

GET /_sim/counters, POST /_sim/counters/reset, GET|POST /_sim/clock ({"advance": s} | {"set": ts}),
GET|POST /_sim/knobs ({knob: value, ...}), POST /_sim/mutate ({"op": name, "args": [...], "kwargs": {...}}).
"""

from __future__ import annotations

import json

from .api import Request, Response, SimParts, ok
from .render import dumps


class Control(SimParts):
    """The `/_sim/` endpoints (mixed into SimServer; `reset_counters` is SimServer's)."""

    def _control(self, req: Request) -> Response:
        try:
            return self._control_dispatch(req)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return Response(400, dumps({"error": f"{type(exc).__name__}: {exc}"}))

    def _control_dispatch(self, req: Request) -> Response:
        body = json.loads(req.raw_body) if req.raw_body else {}
        route = (req.method, req.path)
        if route == ("GET", "/_sim/counters"):
            with self._stats_lock:
                return ok(
                    dumps(
                        {
                            "counters": self.counters,
                            "request_count": self.request_count,
                            "status_counts": {str(k): v for k, v in self.status_counts.items()},
                            "fault_counts": dict(self.fault_counts),
                        }
                    )
                )
        if route == ("POST", "/_sim/counters/reset"):
            self.reset_counters()
            return ok(b"{}")
        if route == ("POST", "/_sim/clock"):
            if "set" in body:
                self.ws.clock.set(body["set"])
            if "advance" in body:
                self.ws.clock.advance(body["advance"])
            return ok(dumps({"now": self.ws.clock.now()}))
        if route == ("GET", "/_sim/clock"):
            return ok(dumps({"now": self.ws.clock.now()}))
        if route == ("POST", "/_sim/knobs"):
            self.knobs.update(**body)
            return ok(dumps(self.knobs.as_json()))
        if route == ("GET", "/_sim/knobs"):
            return ok(dumps(self.knobs.as_json()))
        if route == ("POST", "/_sim/mutate"):
            result = self.ws.mutation(body["op"])(*body.get("args", []), **body.get("kwargs", {}))
            return ok(dumps({"result": result}))
        return Response(404, dumps({"error": "unknown control endpoint"}))
