"""A location's activity view (the log of issue 15 §1, newest first, filtered by ``userName``
and outcome, in keyset pages, with the 24-hour summary) and its CSV export."""

from __future__ import annotations

import tornado.iostream
import tornado.web

from adapters.activity import ActivityLog
from adapters.location_ids import location_number

from gateway.admin.activity_query import (CSV_COLUMNS, ActivityFilter, all_records, csv_row, csv_text, day_summary,
                                          read_page, without_position)
from gateway.admin.base import AdminHandler
from gateway.admin.integrations import Location


class _ActivityBase(AdminHandler):
    def log_of(self, location: Location) -> ActivityLog | None:
        """The activity log, when the deployment keeps one for such a location (the log is keyed
        by location ids, :mod:`adapters.location_ids`)."""
        return self.admin.activity if location_number(location.id) is not None else None

    def filters(self) -> ActivityFilter:
        return ActivityFilter.parse(self.get_query_argument("user", ""), self.get_query_argument("outcome", ""),
                                    self.get_query_argument("before", ""))


class ActivityHandler(_ActivityBase):
    async def get(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        log = self.log_of(location)
        filters = self.filters()
        if log is None:
            self.render("activity.html", location=location, kept=False, summary=None, page=None, filters=filters,
                        newest=without_position(filters))
            return
        page = await read_page(log, location.id, filters)
        summary = await day_summary(log, location.id)
        self.render("activity.html", location=location, kept=True, summary=summary, page=page, filters=filters,
                    newest=without_position(filters))


class ActivityCsvHandler(_ActivityBase):
    """Every entry the filters select (from the page's position on), streamed in batches."""

    async def get(self, location_id: str) -> None:
        location = await self.visible_location(location_id)
        log = self.log_of(location)
        if log is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/csv; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="location-{location.id}-activity.csv"')
        self.write(csv_text([list(CSV_COLUMNS)]))
        try:
            async for batch in all_records(log, location.id, self.filters()):
                self.write(csv_text(csv_row(record.entry) for record in batch))
                await self.flush()
        except tornado.iostream.StreamClosedError:
            return  # the browser went away mid-download: nothing to answer
        self.finish()
