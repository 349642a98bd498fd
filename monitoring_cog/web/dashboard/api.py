"""The JSON API under ``/api/``: handlers reading the database through the storage interface.

Every handler reads its parameters with :mod:`.params` (a bad one is a 400 naming it), asks the
storage for rows (audit rows by keyset, reports from the rollups) and answers JSON in the shapes
the README documents: times as epoch seconds, dates as ``YYYY-MM-DD`` (UTC), durations in ms
where the key ends in ``_ms``.

The server list's figures (distinct users over 7 and 30 days for every guild) read every
``daily_users`` row of the month: they are computed at most once per :data:`SERVERS_CACHE_SECONDS`
and then filtered, sorted and paged in memory. ``/api/commands`` keeps past days' figures (see
:mod:`.command_days`).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import csv
import io
import json
from collections.abc import Iterable
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ...analysis.latency import percentiles
from ...analysis.reports import period_days
from ...clock import utc_day
from ...collectors.statistics import StatisticsCollector
from ...storage.dashboard import AuditSearch, CommandDay, ServerActivity
from . import params
from .command_days import CommandDays
from .live import Snapshot, Streams
from .params import BadInput

if TYPE_CHECKING:
    from ...database import Database

__all__ = ("SERVERS_CACHE_SECONDS", "DashboardApi", "json_default")

SERVERS_CACHE_SECONDS = 30.0
"""How long the server list's figures are reused before being read again."""
SERVER_SORTS = (
    "commands_7d",
    "guild_name",
    "last_seen",
    "users_7d",
    "failures_7d",
    "commands_30d",
    "users_30d",
    "failures_30d",
)
TOP_COMMANDS = 20
"""Commands ``/api/commands`` shows, the most run first."""
CSV_PAGE = 1000
"""Audit rows read per query while streaming the CSV download."""
CSV_COLUMNS = (
    "id",
    "executed_at",
    "guild_id",
    "guild_name",
    "user_id",
    "username",
    "command",
    "parameters",
    "duration_ms",
    "success",
    "error_type",
    "error_message",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet runs a cell starting with one of these as a formula: such text is quoted."""


def json_default(value: Any) -> Any:
    """JSON for what the storage returns beyond JSON: datetimes as epoch seconds, dates as ISO."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _json(body: Any, status: int = 200) -> web.Response:
    return web.json_response(
        body, status=status, dumps=lambda v: json.dumps(v, default=json_default)
    )


def _entry(row: dict[str, Any]) -> dict[str, Any]:
    """An audit entry for JSON: ``executed_at`` as epoch seconds."""
    return {**row, "executed_at": row["executed_at"].timestamp()}


class DashboardApi:
    """The API's handlers, bound to one database and one live snapshot.

    Parameters
    ----------
    db:
        The database the figures are read from.
    snapshot, streams:
        The cached ``/api/health`` body and the event streams serving it.
    """

    def __init__(self, db: Database, snapshot: Snapshot, streams: Streams) -> None:
        self.db = db
        self.snapshot = snapshot
        self.streams = streams
        self.statistics = StatisticsCollector(db)
        self.command_days = CommandDays(db)
        self._servers: tuple[float, date, list[ServerActivity]] | None = None
        self._servers_lock = asyncio.Lock()

    def routes(self) -> list[web.RouteDef]:
        """The API's routes (GET only: the dashboard is read-only)."""
        return [
            web.get("/api/health", self.health),
            web.get("/api/health/stream", self.streams.serve),
            web.get("/api/servers", self.servers),
            web.get("/api/servers/{guild_id}/report", self.report),
            web.get("/api/servers/{guild_id}/daily", self.daily),
            web.get("/api/servers/{guild_id}/performance", self.performance),
            web.get("/api/servers/{guild_id}/failures", self.failures),
            web.get("/api/commands", self.commands),
            web.get("/api/audit", self.audit),
            web.get("/api/audit.csv", self.audit_csv),
            web.get("/api/stalls", self.stalls),
            web.get("/api/errors", self.errors),
            web.get("/api/growth", self.growth),
        ]

    def _today(self) -> date:
        return utc_day(self.db.clock.time())

    async def _storage(self) -> Any:
        return await self.db.storage()

    # -- health --------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        """``GET /api/health``: the cached snapshot (see :mod:`.live`)."""
        body = await self.snapshot.get()
        return web.Response(body=body, content_type="application/json")

    # -- servers -------------------------------------------------------------------------------

    async def servers(self, request: web.Request) -> web.Response:
        """``GET /api/servers``: registered guilds with their 7- and 30-day figures."""
        query = request.query
        text = query.get("q", "").strip().casefold()
        if len(text) > 100:
            raise BadInput("q: expected at most 100 characters")
        sort = params.choice(query, "sort", "commands_7d", SERVER_SORTS)
        order = params.choice(query, "order", "desc", ("asc", "desc"))
        limit = params.integer(query, "limit", 100, 1, 1000)
        after = _decode_server_key(query.get("offset_key", ""))
        rows = [
            row
            for row in await self._server_activity()
            if not text
            or text in row.guild_id
            or (row.guild_name is not None and text in row.guild_name.casefold())
        ]

        def key(row: ServerActivity) -> tuple[Any, str]:
            value = getattr(row, sort)
            return ((value or "").casefold() if sort == "guild_name" else value, row.guild_id)

        descending = order == "desc"
        rows.sort(key=key, reverse=descending)
        if after is not None:
            rows_after = []
            for row in rows:
                try:
                    later = key(row) < after if descending else key(row) > after
                except TypeError:
                    raise BadInput("offset_key: not a key of this sort") from None
                if later:
                    rows_after.append(row)
            remaining = rows_after
        else:
            remaining = rows
        page = remaining[:limit]
        next_key = _encode_server_key(key(page[-1])) if page and len(remaining) > limit else None
        return _json(
            {"servers": [asdict(row) for row in page], "total": len(rows), "next_key": next_key}
        )

    async def _server_activity(self) -> list[ServerActivity]:
        today = self._today()
        async with self._servers_lock:
            cached = self._servers
            now = self.db.clock.monotonic()
            if cached is None or cached[1] != today or now - cached[0] > SERVERS_CACHE_SECONDS:
                storage = await self._storage()
                cached = (now, today, await storage.server_activity(today))
                self._servers = cached
        return cached[2]

    async def report(self, request: web.Request) -> web.Response:
        """``GET /api/servers/{id}/report?period=weekly|monthly``: the quick reference's report."""
        guild = params.guild_id(request.match_info["guild_id"])
        period = params.choice(request.query, "period", "weekly", ("weekly", "monthly"))
        days = 7 if period == "weekly" else 30
        return _json(await self.statistics.fetch_report(guild, days, period))

    async def daily(self, request: web.Request) -> web.Response:
        """``GET /api/servers/{id}/daily?days=7|30|90``: every day of the range, zeros filled."""
        guild = params.guild_id(request.match_info["guild_id"])
        days = int(params.choice(request.query, "days", "30", ("7", "30", "90")))
        first, last = period_days(self._today(), days)
        storage = await self._storage()
        totals = {t.day: t for t in await storage.day_totals(guild, first, last)}
        series = []
        for offset in range(days):
            day = first + timedelta(days=offset)
            t = totals.get(day)
            series.append(
                {
                    "date": day.isoformat(),
                    "commands": t.commands if t else 0,
                    "failed": t.failed_commands if t else 0,
                    "users": t.unique_users if t else 0,
                    "songs": t.songs_played if t else 0,
                    "playtime": t.playtime if t else 0.0,
                    "skips": t.skips if t else 0,
                    "pauses": t.pauses if t else 0,
                }
            )
        return _json({"guild_id": guild, "days": series})

    async def performance(self, request: web.Request) -> web.Response:
        """``GET /api/servers/{id}/performance?days=N``: per command, runs and percentiles."""
        guild = params.guild_id(request.match_info["guild_id"])
        days = params.integer(request.query, "days", 7, 1, 90)
        first, last = period_days(self._today(), days)
        storage = await self._storage()
        commands = []
        for totals in await storage.command_totals(guild, first, last, with_buckets=True):
            runs = totals.count
            values = percentiles(totals.buckets, low=totals.duration_min, high=totals.duration_max)
            commands.append(
                {
                    "command": totals.command,
                    "runs": runs,
                    "failures": totals.failures,
                    "error_rate": round(totals.failures / runs, 4) if runs else 0.0,
                    "avg_ms": round(totals.duration_sum / runs * 1000, 3) if runs else 0.0,
                    "p50_ms": round(values["p50"] * 1000, 3),
                    "p95_ms": round(values["p95"] * 1000, 3),
                    "p99_ms": round(values["p99"] * 1000, 3),
                }
            )
        commands.sort(key=lambda item: (-item["runs"], item["command"]))
        return _json({"guild_id": guild, "days": days, "commands": commands})

    async def failures(self, request: web.Request) -> web.Response:
        """``GET /api/servers/{id}/failures?limit=20``: the guild's latest failed commands."""
        guild = params.guild_id(request.match_info["guild_id"])
        limit = params.integer(request.query, "limit", 20, 1, 500)
        storage = await self._storage()
        rows = await storage.search_audit_logs(
            AuditSearch(guild_id=guild, success=False, limit=limit)
        )
        return _json({"failures": [_entry(row) for row in rows]})

    # -- bot-wide ------------------------------------------------------------------------------

    async def commands(self, request: web.Request) -> web.Response:
        """``GET /api/commands?days=30``: the top 20 commands' runs and percentiles per day."""
        days = params.integer(request.query, "days", 30, 1, 90)
        first, last = period_days(self._today(), days)
        by_command: dict[str, dict[date, CommandDay]] = {}
        for items in (await self.command_days.between(first, last)).values():
            for entry in items:
                by_command.setdefault(entry.command, {})[entry.day] = entry
        top = sorted(
            by_command.items(), key=lambda kv: (-sum(i.runs for i in kv[1].values()), kv[0])
        )[:TOP_COMMANDS]
        result = []
        for command, per_day in top:
            series = []
            for offset in range(days):
                day = first + timedelta(days=offset)
                item = per_day.get(day)
                point: dict[str, Any] = {"date": day.isoformat(), "runs": item.runs if item else 0}
                if item is not None and item.buckets:
                    values = percentiles(item.buckets)
                    point.update({f"{k}_ms": round(v * 1000, 3) for k, v in values.items()})
                else:
                    point.update({"p50_ms": None, "p95_ms": None, "p99_ms": None})
                series.append(point)
            result.append(
                {"command": command, "runs": sum(p["runs"] for p in series), "series": series}
            )
        return _json({"commands": result})

    def _search(self, request: web.Request, *, paged: bool) -> AuditSearch:
        query = request.query
        outcome = params.choice(query, "outcome", "", ("success", "failure"))
        since = params.epoch_seconds(query, "since")
        until = params.epoch_seconds(query, "until")
        if since is not None and until is not None and until < since:
            raise BadInput("until: expected a time after since")
        user = params.optional_user_id(query)
        if user is not None:
            # With [privacy] hash_user_ids, rows hold the pseudonym: search by what is stored.
            user = self.db.privacy.user_id(user)
        return AuditSearch(
            guild_id=params.optional_guild_id(query),
            user_id=user,
            command=params.optional_text(query, "command"),
            success=None if not outcome else outcome == "success",
            since=since,
            until=until,
            after=params.decode_cursor(query) if paged else None,
            limit=params.integer(query, "limit", 100, 1, 500) if paged else CSV_PAGE,
        )

    async def audit(self, request: web.Request) -> web.Response:
        """``GET /api/audit``: one page of the audit log, newest first, and the next cursor."""
        search = self._search(request, paged=True)
        storage = await self._storage()
        # One row more than the page: whether a next page exists, without an empty last page.
        rows = await storage.search_audit_logs(_with_limit(search, search.limit + 1))
        page = rows[: search.limit]
        next_cursor = None
        if len(rows) > search.limit:
            last = page[-1]
            next_cursor = params.encode_cursor(last["executed_at"].timestamp(), last["id"])
        return _json({"rows": [_entry(row) for row in page], "next_cursor": next_cursor})

    async def audit_csv(self, request: web.Request) -> web.StreamResponse:
        """``GET /api/audit.csv``: every matching row as CSV, streamed page by page."""
        search = self._search(request, paged=False)
        storage = await self._storage()
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/csv; charset=utf-8",
                "Content-Disposition": 'attachment; filename="audit.csv"',
            }
        )
        await response.prepare(request)
        await response.write(_csv_lines([CSV_COLUMNS]))
        while True:
            rows = await storage.search_audit_logs(search)
            if not rows:
                break
            await response.write(_csv_lines(_csv_row(row) for row in rows))
            if len(rows) < search.limit:
                break
            last = rows[-1]
            search = _with_after(search, (last["executed_at"].timestamp(), last["id"]))
        await response.write_eof()
        return response

    async def stalls(self, request: web.Request) -> web.Response:
        """``GET /api/stalls?days=7&limit=100``: event-loop stalls, newest first."""
        days = params.integer(request.query, "days", 7, 1, 90)
        limit = params.integer(request.query, "limit", 100, 1, 1000)
        guild = params.optional_guild_id(request.query)
        storage = await self._storage()
        rows = await storage.loop_stalls(
            since=self.db.clock.time() - days * 86400, guild_id=guild, limit=limit
        )
        return _json(
            {
                "stalls": [
                    {
                        "started_at": row["started_at"].timestamp(),
                        "duration_ms": round(row["duration"] * 1000, 3),
                        "command": row["command"],
                        "command_kind": row["command_kind"],
                        "guild_id": row["guild_id"],
                        "location": row["location"],
                        "stack": row["stack"],
                    }
                    for row in rows
                ]
            }
        )

    async def errors(self, request: web.Request) -> web.Response:
        """``GET /api/errors?days=7&limit=100``: failed commands with tracebacks, newest first."""
        days = params.integer(request.query, "days", 7, 1, 90)
        limit = params.integer(request.query, "limit", 100, 1, 500)
        storage = await self._storage()
        rows = await storage.search_audit_logs(
            AuditSearch(success=False, since=self.db.clock.time() - days * 86400, limit=limit)
        )
        return _json({"errors": [_entry(row) for row in rows]})

    async def growth(self, request: web.Request) -> web.Response:
        """``GET /api/growth?days=90``: joins, leaves and population per day."""
        days = params.integer(request.query, "days", 90, 1, 365)
        first, last = period_days(self._today(), days)
        storage = await self._storage()
        return _json(
            {
                "days": [
                    {
                        "date": day.day.isoformat(),
                        "joins": day.joins,
                        "leaves": day.leaves,
                        "guilds": day.guilds,
                        "members": day.members,
                    }
                    for day in await storage.growth(first, last)
                ]
            }
        )


def _with_limit(search: AuditSearch, limit: int) -> AuditSearch:
    return AuditSearch(**{**_fields(search), "limit": limit})


def _with_after(search: AuditSearch, after: tuple[float, int]) -> AuditSearch:
    return AuditSearch(**{**_fields(search), "after": after})


def _fields(search: AuditSearch) -> dict[str, Any]:
    return {name: getattr(search, name) for name in AuditSearch.__dataclass_fields__}


def _csv_row(row: dict[str, Any]) -> list[Any]:
    return [
        row["id"],
        row["executed_at"].astimezone(UTC).isoformat(),
        row["guild_id"],
        _cell(row["guild_name"]),
        row["user_id"],
        _cell(row["username"]),
        _cell(row["command"]),
        _cell(json.dumps(row["parameters"], ensure_ascii=False)),
        round(row["duration"] * 1000, 3),
        "true" if row["success"] else "false",
        _cell(row["error_type"]),
        _cell(row["error_message"]),
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv_lines(rows: Iterable[Iterable[Any]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerows(rows)
    return out.getvalue().encode()


def _encode_server_key(key: tuple[Any, str]) -> str:
    raw = json.dumps(list(key)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_server_key(value: str) -> tuple[Any, str] | None:
    if not value:
        return None
    problem = BadInput("offset_key: not a key this API returned")
    if len(value) > 400:
        raise problem
    try:
        decoded = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    except (binascii.Error, ValueError):
        raise problem from None
    if (
        not isinstance(decoded, list)
        or len(decoded) != 2
        or not isinstance(decoded[1], str)
        or not isinstance(decoded[0], str | int | float)
        or isinstance(decoded[0], bool)
    ):
        raise problem
    return decoded[0], decoded[1]
