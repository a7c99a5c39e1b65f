"""The tenant admin's calendar page: a year of month grids, a click turns a day into a day off or a working day,
a form enters a holiday range with its make-up workdays, and a deadline preview shows what the rules mean."""

from __future__ import annotations

import calendar as _stdlib_calendar
from datetime import date

from quart import Blueprint, redirect, request, url_for

from ..auth.access import current_principal
from ..auth.permissions import Permission, requires
from ..errors import InvalidInput
from ..http import staff_page
from ..i18n import current_lang
from ..petitions.service import china_today
from ..tenancy.config_versions import ConfigActor
from ..tenancy.resolution import current_tenant
from . import service
from .service import FIRST_YEAR, LAST_YEAR, MAX_MAKEUPS, Rules, day_words
from .workdays import DayKind, describe_day, official_years

calendar_admin_bp = Blueprint("calendar_admin", __name__, url_prefix="/t/<tenant_slug>/admin/calendar")

MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
KIND_WORDS = {
    DayKind.WORKDAY: {"zh": "工作日", "en": "working day"},
    DayKind.WEEKEND: {"zh": "周末休息", "en": "weekend"},
    DayKind.OFFICIAL_HOLIDAY: {"zh": "法定节假日", "en": "public holiday"},
    DayKind.OFFICIAL_MAKEUP: {"zh": "调休上班（国务院安排）", "en": "make-up workday (State Council)"},
    DayKind.TENANT_HOLIDAY: {"zh": "本单位录入的休息日", "en": "day off entered here"},
    DayKind.TENANT_MAKEUP: {"zh": "本单位录入的调休上班日", "en": "make-up workday entered here"},
}
MARK = {DayKind.OFFICIAL_HOLIDAY: "休", DayKind.TENANT_HOLIDAY: "休", DayKind.OFFICIAL_MAKEUP: "班", DayKind.TENANT_MAKEUP: "班"}


def saved_words(saved: str | None, lang: str) -> str | None:
    """What the redirect after a save carries ("2027-02-08:0", "entry") as a sentence."""
    if not saved:
        return None
    if saved == "entry":
        return "已保存。" if lang == "zh" else "Saved."
    iso, _, working = saved.partition(":")
    try:
        day = date.fromisoformat(iso)
    except ValueError:
        return None
    if lang == "zh":
        return f"已保存：{day_words(day, lang)}现在是{'工作日' if working == '1' else '休息日'}。"
    return f"Saved: {day_words(day, lang)} is now a {'working day' if working == '1' else 'day off'}."


def _year(text: str | None, today: date) -> int:
    try:
        year = int(text or today.year)
    except ValueError:
        return today.year
    return year if FIRST_YEAR <= year <= LAST_YEAR else today.year


def year_view(rules: Rules, year: int, lang: str, today: date) -> list[dict]:
    """Twelve months of weeks (Monday first); each day says what it is, in words, and whether a click changes it."""
    calendar = rules.calendar()
    months = []
    for month in range(1, 13):
        weeks = []
        for week in _stdlib_calendar.Calendar(firstweekday=0).monthdatescalendar(year, month):
            row = []
            for day in week:
                if day.month != month:
                    row.append(None)
                    continue
                info = describe_day(calendar, day)
                own = rules.names.get(day.isoformat(), "")
                name = own or (info.name_zh if lang == "zh" else info.name_en)
                if info.kind is DayKind.TENANT_HOLIDAY:
                    click = {"zh": "点击改回工作日", "en": "click: make it a working day again"}
                elif info.kind is DayKind.TENANT_MAKEUP:
                    click = {"zh": "点击改回休息日", "en": "click: make it a day off again"}
                elif info.working:
                    click = {"zh": "点击改为本单位休息日", "en": "click: make it a day off here"}
                elif not info.official_known and day.weekday() >= 5:
                    click = {"zh": "点击改为调休上班日", "en": "click: make it a make-up workday"}
                else:
                    click = None  # an official day off: the State Council's arrangement decides
                kind_words = KIND_WORDS[info.kind][lang]
                title = f"{day_words(day, lang)} {kind_words}{('：' if lang == 'zh' else ': ') + name if name else ''}"
                if click:
                    title += ("。" if lang == "zh" else ". ") + click[lang]
                label = name if info.kind is not DayKind.WEEKEND else ""
                if info.kind is DayKind.OFFICIAL_MAKEUP and label:  # 国庆节 under a worked Saturday would read as a holiday
                    label = f"{label}调休" if lang == "zh" else f"{label} (worked)"
                row.append({"day": day, "iso": day.isoformat(), "kind": info.kind.value, "mark": MARK.get(info.kind, ""),
                            "name": label, "weekend": day.weekday() >= 5,
                            "today": day == today, "clickable": click is not None, "title": title})
            weeks.append(row)
        months.append({"number": month, "title": f"{month}月" if lang == "zh" else MONTHS_EN[month - 1], "weeks": weeks})
    return months


def entered_days(rules: Rules, year: int) -> list[dict]:
    """The days this tenant entered for ``year``, runs of consecutive days with one name joined up (2月6日—2月13日 春节)."""
    rows: list[dict] = []
    for kind, days in (("holiday", rules.holidays), ("workday", rules.workdays)):
        for iso in sorted(d for d in days if d.startswith(f"{year}-")):
            day = date.fromisoformat(iso)
            name = rules.names.get(iso, "")
            last = rows[-1] if rows else None
            if last and last["kind"] == kind and last["name"] == name and (day - last["last"]).days == 1:
                last["last"], last["days"] = day, last["days"] + [iso]
            else:
                rows.append({"kind": kind, "name": name, "first": day, "last": day, "days": [iso]})
    return sorted(rows, key=lambda r: r["first"])


async def _page(status: int = 200, *, year: int | None = None, rules: Rules | None = None, draft: bool = False, errors=None,
                warnings=None, values=None, saved=None):
    ctx = current_tenant()
    today = china_today()
    args = request.args
    values = values if values is not None else {}
    saved_rules = await service.current_rules(ctx.scope)
    rules = rules or saved_rules
    year = year or _year(args.get("year"), today)
    lang = current_lang()
    known = official_years()
    start = values.get("preview_start", args.get("start"))
    amount = values.get("preview_amount", args.get("amount"))
    explained, preview_errors = service.preview(rules, start, amount, today)
    return await staff_page(
        "admin/calendar.html", status, year=year, months=year_view(rules, year, lang, today), entered=entered_days(rules, year),
        known_first=known[0] if known else None, known_last=known[-1] if known else None, year_known=year in known,
        year_entered=any(d.startswith(f"{year}-") for d in rules.holidays), draft=draft, errors=errors or {},
        warnings=warnings or [], values=values, saved=saved_words(saved, lang), kinds=KIND_WORDS, makeup_fields=range(1, MAX_MAKEUPS + 1),
        preview=explained, preview_errors=preview_errors, preview_start=(explained or {}).get("start") or start or today.isoformat(),
        preview_amount=amount or "15", today=today, day_words=day_words, first_year=FIRST_YEAR, last_year=LAST_YEAR,
    )


@calendar_admin_bp.get("")
@requires(Permission.CALENDAR_MANAGE)
async def calendar_page(tenant_slug):
    """A year of the tenant's working-day calendar, with the days it entered and a deadline preview."""
    return await _page(saved=request.args.get("saved"))


@calendar_admin_bp.post("/days")
@requires(Permission.CALENDAR_MANAGE)
async def toggle_day(tenant_slug):
    """A click on a day: working day <-> day off for this tenant (make-up workday on a weekend of an unknown year)."""
    form = await request.form
    year = _year(form.get("year"), china_today())
    try:
        day, working = await service.do_toggle_day(current_tenant().scope, form.get("day"), form.get("name"), ConfigActor.of(current_principal()))
    except InvalidInput as refused:
        return await _page(refused.status, year=year, errors=refused.fields, values={"name": form.get("name") or ""})
    return redirect(url_for("calendar_admin.calendar_page", tenant_slug=tenant_slug, year=day.year, saved=f"{day.isoformat()}:{int(working)}")
                    + f"#m{day.month}", 303)


@calendar_admin_bp.post("")
@requires(Permission.CALENDAR_MANAGE)
async def enter_days(tenant_slug):
    """The holiday-range form: preview it (nothing saved) or save it; messages next to each field."""
    form = await request.form
    values = {k: (form.get(k) or "") for k in form}
    scope = current_tenant().scope
    today = china_today()
    if form.get("action") != "save" and not service.has_entry(form):  # only the deadline preview, with the saved days
        return await _page(year=_year(form.get("year"), today), values=values)
    try:
        entry = service.check_entry(await service.current_rules(scope), form)
    except InvalidInput as refused:
        return await _page(refused.status, year=_year(form.get("year"), today), errors=refused.fields, values=values)
    first = (entry.added_holidays or entry.added_workdays)[0]
    if form.get("action") != "save":
        return await _page(year=first.year, rules=entry.rules, draft=True, warnings=entry.warnings, values=values)
    await service.do_add_entry(scope, form, ConfigActor.of(current_principal()))
    return redirect(url_for("calendar_admin.calendar_page", tenant_slug=tenant_slug, year=first.year, saved="entry",
                            start=form.get("preview_start") or None, amount=form.get("preview_amount") or None), 303)


@calendar_admin_bp.post("/removed")
@requires(Permission.CALENDAR_MANAGE)
async def remove_days(tenant_slug):
    """Take a run of days this tenant entered off its calendar again."""
    form = await request.form
    try:
        removed = await service.do_remove_days(current_tenant().scope, form.getlist("day"), ConfigActor.of(current_principal()))
    except InvalidInput as refused:
        return await _page(refused.status, errors=refused.fields)
    return redirect(url_for("calendar_admin.calendar_page", tenant_slug=tenant_slug, year=removed[0][:4], saved="entry"), 303)
