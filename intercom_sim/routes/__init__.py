"""The endpoints: the route table (method, path template -> handler) and the handler mixins it points into.

One module per object family; each holds a mixin of SimServer whose methods answer `Request -> Response`:

* `reference` -- GET /me, admins, teams, tags, segments, subscription types, data attributes;
* `contacts` -- contacts and their tags, notes, companies, segments, subscriptions;
* `companies` -- companies (find, list, scroll) and their contacts and segments;
* `conversations` -- conversations, tickets, ticket types;
* `activity` -- notes, events, admin activity logs;
* `content` -- articles, help center collections and help centers, news items and newsfeeds;
* `exports` -- the content data export jobs and their downloads;
* `cursors` -- the cursor-paged lists and searches the contact and conversation endpoints share.

The table is the one place that says which (method, path) is served and by what; a template's `{name}` matches
one path segment, handed to the handler in `req.params`. Counters are keyed by "METHOD /template".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..api import Request, Response
from .activity import ActivityRoutes
from .companies import CompanyRoutes
from .contacts import ContactRoutes
from .content import ContentRoutes
from .conversations import ConversationRoutes
from .exports import ExportRoutes
from .reference import ReferenceRoutes

__all__ = ["ROUTES", "Endpoints", "RouteHandler"]

RouteHandler = Callable[[Any, Request], Response]  # a handler method of Endpoints, unbound


class Endpoints(
    ReferenceRoutes,
    ContactRoutes,
    CompanyRoutes,
    ConversationRoutes,
    ActivityRoutes,
    ContentRoutes,
    ExportRoutes,
):
    """Every endpoint handler (mixed into SimServer)."""


ROUTES: tuple[tuple[str, str, RouteHandler], ...] = (
    ("GET", "/me", Endpoints.get_me),
    ("GET", "/admins", Endpoints.list_admins),
    ("GET", "/admins/activity_logs", Endpoints.list_activity_logs),
    ("GET", "/admins/{id}", Endpoints.get_admin),
    ("GET", "/teams", Endpoints.list_teams),
    ("GET", "/teams/{id}", Endpoints.get_team),
    ("GET", "/tags", Endpoints.list_tags),
    ("GET", "/tags/{id}", Endpoints.get_tag),
    ("GET", "/segments", Endpoints.list_segments),
    ("GET", "/segments/{id}", Endpoints.get_segment),
    ("GET", "/subscription_types", Endpoints.list_subscription_types),
    ("GET", "/data_attributes", Endpoints.list_data_attributes),
    ("GET", "/contacts", Endpoints.list_contacts),
    ("POST", "/contacts/search", Endpoints.search_contacts),
    ("GET", "/contacts/{id}", Endpoints.get_contact),
    ("GET", "/contacts/{id}/tags", Endpoints.contact_tags),
    ("GET", "/contacts/{id}/notes", Endpoints.contact_notes),
    ("GET", "/contacts/{id}/companies", Endpoints.contact_companies),
    ("GET", "/contacts/{id}/segments", Endpoints.contact_segments),
    ("GET", "/contacts/{id}/subscriptions", Endpoints.contact_subscriptions),
    ("GET", "/companies", Endpoints.find_companies),
    ("POST", "/companies/list", Endpoints.list_companies),
    ("GET", "/companies/scroll", Endpoints.scroll_companies),
    ("GET", "/companies/{id}", Endpoints.get_company),
    ("GET", "/companies/{id}/contacts", Endpoints.company_contacts),
    ("GET", "/companies/{id}/segments", Endpoints.company_segments),
    ("GET", "/conversations", Endpoints.list_conversations),
    ("POST", "/conversations/search", Endpoints.search_conversations),
    ("GET", "/conversations/{id}", Endpoints.get_conversation),
    ("POST", "/tickets/search", Endpoints.search_tickets),
    ("GET", "/tickets/{id}", Endpoints.get_ticket),
    ("GET", "/ticket_types", Endpoints.list_ticket_types),
    ("GET", "/ticket_types/{id}", Endpoints.get_ticket_type),
    ("GET", "/notes/{id}", Endpoints.get_note),
    ("GET", "/events", Endpoints.list_events),
    ("GET", "/articles", Endpoints.list_articles),
    ("GET", "/articles/{id}", Endpoints.get_article),
    ("GET", "/help_center/collections", Endpoints.list_collections),
    ("GET", "/help_center/collections/{id}", Endpoints.get_collection),
    ("GET", "/help_center/help_centers", Endpoints.list_help_centers),
    ("GET", "/help_center/help_centers/{id}", Endpoints.get_help_center),
    ("GET", "/news/news_items", Endpoints.list_news_items),
    ("GET", "/news/news_items/{id}", Endpoints.get_news_item),
    ("GET", "/news/newsfeeds", Endpoints.list_newsfeeds),
    ("GET", "/news/newsfeeds/{id}", Endpoints.get_newsfeed),
    ("GET", "/news/newsfeeds/{id}/items", Endpoints.list_newsfeed_items),
    ("POST", "/export/content/data", Endpoints.create_export),
    ("GET", "/export/content/data/{job}", Endpoints.get_export),
    ("POST", "/export/cancel/{job}", Endpoints.cancel_export),
    ("GET", "/download/content/data/{job}", Endpoints.download_export),
)
