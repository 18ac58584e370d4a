"""Reference lists: GET /me, admins, teams, tags, segments, subscription types, data attributes."""

from __future__ import annotations

from ..api import ApiError, Request, Response, SimParts, lookup, ok
from ..render import dumps


class ReferenceRoutes(SimParts):
    """The workspace's reference objects (unpaged lists and single objects)."""

    def get_me(self, req: Request) -> Response:
        admin = next(iter(self.ws.admins.values()))
        me = {
            **admin,
            "email_verified": True,
            "avatar": {"type": "avatar", "image_url": admin["avatar"]["image_url"]},
            "app": {
                "type": "app",
                "id_code": self.ws.workspace_id,
                "name": "Sim Workspace ✨",
                "created_at": self.ws.clock.now() - 800 * 86_400,
                "secure": False,
                "identity_verification": False,
                "timezone": self.knobs.search_timezone or _tz_name(self.knobs.search_timezone_offset),
                "region": "US",
            },
        }
        return ok(dumps(me))

    def list_admins(self, req: Request) -> Response:
        return ok(dumps({"type": "admin.list", "admins": list(self.ws.admins.values())}))

    def get_admin(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.admins, req.params["id"], "admin_not_found", "Admin not found")))

    def list_teams(self, req: Request) -> Response:
        return ok(dumps({"type": "team.list", "teams": list(self.ws.teams.values())}))

    def get_team(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.teams, req.params["id"], "team_not_found", "Team not found")))

    def list_tags(self, req: Request) -> Response:
        return ok(dumps({"type": "list", "data": list(self.ws.tags.values())}))

    def get_tag(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.tags, req.params["id"], "tag_not_found", "Resource Not Found")))

    def _segment_counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(self.ws.segments, 0)
        for cid in self.ws.contacts:
            for seg_id in self.ws.contact_segments.get(cid, ()):
                counts[seg_id] += 1
        return counts

    def list_segments(self, req: Request) -> Response:
        segments = list(self.ws.segments.values())
        if req.query.get("include_count") == "true":
            counts = self._segment_counts()
            segments = [{**s, "count": counts[s["id"]]} for s in segments]
        return ok(dumps({"type": "segment.list", "segments": segments}))

    def get_segment(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.segments, req.params["id"])))

    def list_subscription_types(self, req: Request) -> Response:
        return ok(dumps({"type": "list", "data": list(self.ws.subscription_types.values())}))

    def list_data_attributes(self, req: Request) -> Response:
        model = req.query.get("model")
        if model is not None and model not in ("contact", "company", "conversation"):
            raise ApiError(
                400, "parameter_invalid", "model must be one of contact, company, conversation", "model"
            )
        include_archived = req.query.get("include_archived") == "true"
        data = [
            a
            for a in self.ws.data_attributes
            if (model is None or a["model"] == model) and (include_archived or not a["archived"])
        ]
        return ok(dumps({"type": "list", "data": data}))


def _tz_name(offset: int) -> str:
    if offset == 0:
        return "Etc/UTC"
    hours = offset // 3600
    return f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"  # POSIX-style names invert the sign
