"""Help center and news (page/per_page lists and single objects).

GET /articles[/{id}], /help_center/collections[/{id}], /help_center/help_centers[/{id}],
/news/news_items[/{id}], /news/newsfeeds[/{id}], /news/newsfeeds/{id}/items.
"""

from __future__ import annotations

from .. import render
from ..api import Request, Response, SimParts, lookup, ok, page_slice
from ..render import dumps
from ..workspace import JSON


class ContentRoutes(SimParts):
    """Articles, collections, help centers, news items and newsfeeds."""

    def list_articles(self, req: Request) -> Response:
        articles = sorted(self.ws.articles.values(), key=lambda a: (-a["updated_at"], a["id"]))
        # list items carry no statistics (article_list_item); GET /articles/{id} does
        items = [{key: value for key, value in a.items() if key != "statistics"} for a in articles]
        return ok(self._paged_list(req, items))

    def get_article(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.articles, req.params["id"])))

    def list_collections(self, req: Request) -> Response:
        collections = sorted(self.ws.collections.values(), key=lambda c: (-c["updated_at"], c["id"]))
        return ok(self._paged_list(req, collections))

    def get_collection(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.collections, req.params["id"])))

    def list_help_centers(self, req: Request) -> Response:
        return ok(self._paged_list(req, list(self.ws.help_centers.values())))

    def get_help_center(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.help_centers, req.params["id"])))

    def list_news_items(self, req: Request) -> Response:
        return ok(self._paged_list(req, list(self.ws.news_items.values())))

    def get_news_item(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.news_items, req.params["id"])))

    def list_newsfeeds(self, req: Request) -> Response:
        return ok(self._paged_list(req, list(self.ws.newsfeeds.values())))

    def get_newsfeed(self, req: Request) -> Response:
        return ok(dumps(lookup(self.ws.newsfeeds, req.params["id"])))

    def list_newsfeed_items(self, req: Request) -> Response:
        feed = lookup(self.ws.newsfeeds, req.params["id"])
        live = [
            item
            for item in self.ws.news_items.values()
            if item["state"] == "live"
            and any(str(a["newsfeed_id"]) == feed["id"] for a in item["newsfeed_assignments"])
        ]
        return ok(self._paged_list(req, live))

    def _paged_list(self, req: Request, items: list[JSON]) -> bytes:
        page_items, page, per_page = page_slice(req, items, 50)
        return dumps(
            {
                "type": "list",
                "pages": render.numbered_pages(page, per_page, len(items)),
                "total_count": len(items),
                "data": page_items,
            }
        )
