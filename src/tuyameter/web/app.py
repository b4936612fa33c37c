"""The HTTP API and the page (FastAPI): meters, live state and events, history, settings writes,
diagnostics. The OpenAPI description is at ``/api/openapi.json``; nothing is loaded from elsewhere."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import FastAPI, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from tuyameter.energy.history import EnergySeries
from tuyameter.pipeline.writes import WriteRefused
from tuyameter.profiles.model import Profile
from tuyameter.store.base import NoStore, StoreError
from tuyameter.web import history, query
from tuyameter.web.backend import WebBackend
from tuyameter.web.guard import COOKIE, Guard, token_ok
from tuyameter.web.live import LiveHub, event_json, status_json, update_json
from tuyameter.web.settings import WebSettings

STATIC = resources.files("tuyameter.web") / "static"
MeterId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="the meter's id")]
Day = Annotated[dt.date | None, Query(description="local day, YYYY-MM-DD")]
MAX_SPAN_DAYS = 3660
MAX_EVENTS = 1000
LABELS = {"hour": "%Y-%m-%d %H:00 %Z", "day": "%Y-%m-%d", "month": "%Y-%m", "year": "%Y"}


class WriteBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: StrictBool | StrictInt | StrictFloat | StrictStr = Field(description="in the quantity's unit, or an option")


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    token: StrictStr = Field(max_length=512)


def create_app(backend: WebBackend, settings: WebSettings, hub: LiveHub) -> Guard:
    """The ASGI application: the API and the page behind :class:`Guard`."""
    app = FastAPI(
        title="tuyameter",
        summary="Local energy meters: live state, history, settings",
        openapi_url="/api/openapi.json",
        docs_url=None,  # the interactive docs load their scripts from a CDN: not here
        redoc_url=None,
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own answer echoes the input, which may not be JSON again (NaN, Infinity): the
        # place and the reason only
        errors = [{"loc": [str(x) for x in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type"))}
                  for e in exc.errors()]  # fmt: skip
        return JSONResponse({"detail": errors}, status_code=422)

    def known(meter: str) -> str:
        if meter not in backend.meter_ids:
            raise HTTPException(404, f"no meter {meter!r} (known: {', '.join(backend.meter_ids)})")
        return meter

    async def read(fn: Any) -> Any:
        try:
            return await backend.read_store(fn)
        except NoStore as e:
            raise HTTPException(409, str(e)) from None
        except history.HistoryError as e:
            raise HTTPException(422, str(e)) from None
        except (StoreError, TimeoutError) as e:
            raise HTTPException(503, f"the store cannot answer now: {e or 'timed out'}") from None

    @app.get("/api/meters", summary="Every meter with its status and latest values")
    async def meters() -> list[dict[str, Any]]:
        return [meter_state(backend, m) for m in backend.meter_ids]

    @app.get("/api/meters/{meter}", summary="One meter: profile, status, latest values")
    async def meter(meter: MeterId) -> dict[str, Any]:
        known(meter)
        return meter_state(backend, meter) | {"profile": profile_json(backend.profile(meter))}

    @app.get("/api/meters/{meter}/diagnostics", summary="Link counters, data quality, store")
    async def diagnostics(meter: MeterId) -> dict[str, Any]:
        return await backend.diagnostics(known(meter))

    @app.get("/api/meters/{meter}/traffic", summary="The link's last frames both ways, decoded (like `monitor`)")
    async def traffic(meter: MeterId) -> list[dict[str, Any]]:
        return [dataclasses.asdict(line) for line in await backend.traffic(known(meter))]

    @app.get("/api/meters/{meter}/events", summary="Counter resets, glitches, jumps and restarts, oldest first")
    async def meter_events(
        meter: MeterId,
        start: Annotated[float | None, Query(description="epoch seconds (default: 30 days ago)")] = None,
        end: Annotated[float | None, Query(description="epoch seconds (default: now)")] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_EVENTS, description="the newest this many")] = 200,
    ) -> list[dict[str, Any]]:
        known(meter)
        t0, t1 = time_range(start, end, 30 * 86400)
        rows = await read(lambda s: s.meter_events(meter, t0, t1, limit))
        return [event_json(*r) for r in rows]

    @app.get("/api/meters/{meter}/energy", summary="Energy per local hour, day, month or year")
    async def energy(
        meter: MeterId,
        group: Annotated[Literal["hour", "day", "month", "year"], Query()] = "day",
        start: Day = None,
        end: Day = None,
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response:
        known(meter)
        today = dt.datetime.now(backend.zone).date()
        last = end or today
        first = start or last - dt.timedelta(days=1 if group == "hour" else 30)
        if (last - first).days > MAX_SPAN_DAYS:
            raise HTTPException(422, f"at most {MAX_SPAN_DAYS} days at once")
        q = history.widen(history.EnergyQuery(meter, group, first, last))
        zone = backend.zone
        found = await read(lambda s: history.energy(s, q, zone))
        if format == "csv":
            name = f"{meter}-energy-{group}-{q.first}-{q.last}.csv"
            return Response(energy_csv(found), media_type="text/csv",
                            headers={"content-disposition": f'attachment; filename="{name}"'})  # fmt: skip
        return JSONResponse(energy_json(found, q, zone))

    @app.get("/api/query", summary="History as a table, shaped like IoTaWatt's query: series, group, JSON or CSV")
    async def query_table(
        *,
        meter: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")],
        select: Annotated[str, Query(max_length=2000, description="[time.iso,power_a.max,energy_forward_total,…]")],
        begin: Annotated[str | None, Query(max_length=40, description="epoch s, local date or ISO time")] = None,
        end: Annotated[str | None, Query(max_length=40, description="default: now; a date includes its day")] = None,
        group: Annotated[str, Query(max_length=16, description="Nm, Nh, d, M, y or auto")] = "auto",
        format: Annotated[Literal["json", "csv"], Query()] = "json",
    ) -> Response:
        known(meter)
        zone, p = backend.zone, backend.profile(meter)
        try:
            columns = query.parse_select(select, p.power_names(), (q.name for q in p.quantities if q.counter))
            t1 = dt.datetime.now(dt.UTC).timestamp() if end is None else query.parse_time(end, zone, end=True)
            t0 = t1 - 86400 if begin is None else query.parse_time(begin, zone)
            if not t0 < t1:
                raise history.HistoryError("begin must be before end")
            g = query.choose(query.parse_group(group), t0, t1, columns)
            plan = query.Plan(meter, columns, g, query.periods(g, t0, t1, zone), zone)
        except history.HistoryError as e:
            raise HTTPException(422, str(e)) from None
        rows = await read(lambda s: query.run(s, plan))
        span = plan.span
        table = query.Table(meter, g, span[0][0] if span else t0, span[-1][1] if span else t1, columns, rows)
        if format == "csv":
            name = f"{meter}-{g.text}.csv"
            return Response(table.csv(), media_type="text/csv",
                            headers={"content-disposition": f'attachment; filename="{name}"'})  # fmt: skip
        return JSONResponse(table.json())

    @app.get("/api/meters/{meter}/power", summary="Power min/mean/max, decimated to at most `points` steps")
    async def power(
        meter: MeterId,
        start: Annotated[float | None, Query(description="epoch seconds (default: an hour ago)")] = None,
        end: Annotated[float | None, Query(description="epoch seconds (default: now)")] = None,
        points: Annotated[int, Query(ge=10, le=5000)] = 600,
    ) -> dict[str, Any]:
        known(meter)
        t0, t1 = time_range(start, end, 3600)
        return await read(lambda s: history.power(s, meter, t0, t1, points))  # type: ignore[no-any-return]

    @app.post("/api/meters/{meter}/settings/{name}", summary="Write a setting; the meter's echo confirms it")
    async def write(meter: MeterId, name: Annotated[str, Path(max_length=64)], body: WriteBody) -> JSONResponse:
        known(meter)
        try:
            res = await backend.write(meter, name, body.value)
        except WriteRefused as e:
            raise HTTPException(422, str(e)) from None
        out = {"name": res.name, "value": res.value, "ok": res.ok, "error": res.error, "echoed": res.echoed,
               "attempts": res.attempts}  # fmt: skip
        return JSONResponse(out, status_code=200 if res.ok else 504)

    @app.get("/api/events", summary="Server-sent events: `update` and `status` of one meter or all")
    async def events(meter: Annotated[str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,64}$")] = None) -> Response:
        if meter is not None:
            known(meter)
        if hub.full():
            raise HTTPException(503, "too many live streams open")
        return StreamingResponse(hub.stream(meter), media_type="text/event-stream",
                                 headers={"cache-control": "no-cache", "x-accel-buffering": "no"})  # fmt: skip

    @app.get("/api/session", summary="Whether this client may use the API (and whether a token is needed)")
    async def session() -> dict[str, Any]:
        return {"token_required": settings.token is not None, "zone": str(backend.zone)}

    @app.post("/api/login", summary="Trade the web token for a cookie (the page's sign-in)")
    async def login(body: LoginBody, request: Request) -> JSONResponse:
        if not token_ok(settings, body.token):
            raise HTTPException(401, "wrong web token")
        r = JSONResponse({"ok": True})
        r.set_cookie(COOKIE, body.token, httponly=True, samesite="strict", secure=request.url.scheme == "https",
                     max_age=30 * 86400)  # fmt: skip
        return r

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), headers={"cache-control": "no-cache"})

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return Guard(app, settings)


def time_range(start: float | None, end: float | None, default_span: float) -> tuple[float, float]:
    """[start, end) in epoch seconds: end defaults to now, start to ``default_span`` before end."""
    t1 = dt.datetime.now(dt.UTC).timestamp() if end is None else end
    t0 = t1 - default_span if start is None else start
    if not 0 <= t0 < t1 <= 4e9:
        raise HTTPException(422, "the range must be 0 <= start < end (epoch seconds)")
    return t0, t1


def meter_state(backend: WebBackend, meter: str) -> dict[str, Any]:
    u, s = backend.latest(meter), backend.status(meter)
    return {
        "id": meter,
        "profile_name": backend.profile(meter).name,
        "status": status_json(s) if s is not None else None,
        "latest": update_json(u) if u is not None else None,
    }


def profile_json(p: Profile) -> dict[str, Any]:
    """What the page needs to label values and build the settings form."""
    qs = []
    for q in p.quantities:
        item: dict[str, Any] = {"name": q.name, "label": q.label or q.name.replace("_", " "), "unit": q.unit,
                                "device_class": q.device_class, "private": q.private, "access": q.access}  # fmt: skip
        if q.writable:
            item |= {"range": q.range, "step": q.step * q.scale, "options": list(q.options.values()) or None,
                     "kind": "button" if q.ha == "button" else "number", "resets": list(q.resets)}  # fmt: skip
        if q.counter:
            item["counter"] = q.counter
        qs.append(item)
    computed = [{"name": c.name, "label": c.label or c.name, "unit": c.unit, "device_class": c.device_class}
                for c in p.computed]  # fmt: skip
    return {"name": p.name, "model": p.model, "manufacturer": p.manufacturer, "product_ids": list(p.product_ids),
            "channels": list(p.channels), "report_rate": p.report_rate, "quantities": qs, "computed": computed,
            "power_names": p.power_names()}  # fmt: skip


def energy_json(s: EnergySeries | None, q: history.EnergyQuery, zone: dt.tzinfo) -> dict[str, Any]:
    starts = s.starts if s is not None else []
    span = history.local_span(q.first, q.last, zone)
    return {
        "meter": q.meter, "group": q.group, "zone": str(zone), "first": q.first.isoformat(),
        "last": q.last.isoformat(), "from": span[0].timestamp(), "to": span[1].timestamp(),
        "start": [t.timestamp() for t in starts],
        "label": [_label(t, q.group) for t in starts],
        "hours": s.hours if s is not None else [],
        "kwh": s.kwh if s is not None else {},
    }  # fmt: skip


def energy_csv(s: EnergySeries | None) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    names = list(s.kwh) if s is not None else []
    w.writerow(["start", "hours", *(f"{n}_kwh" for n in names)])
    if s is not None:
        for i, t in enumerate(s.starts):
            w.writerow([t.isoformat(), s.hours[i], *("" if (v := s.kwh[n][i]) is None else v for n in names)])
    return buf.getvalue()


def _label(t: dt.datetime, group: str) -> str:
    return t.strftime(LABELS[group])
