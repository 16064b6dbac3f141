"""Time ranges said in a question ("last week", "in November", "before the 10th", "since Monday"),
as [start, end) in the local time of a given "now"."""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTH_NAMES = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
MONTH_NAMES |= {m.lower(): i for i, m in enumerate(calendar.month_abbr) if m and m.lower() != "may"}
WEEKDAY_NAMES = {d.lower(): i for i, d in enumerate(calendar.day_name)}


@dataclass(frozen=True)
class TimeRange:
    start: datetime | None
    end: datetime | None     # exclusive
    said: str


def _day(dt: datetime) -> datetime:
    return dt.replace(hour=0, minute=0, second=0, microsecond=0)


def _month_start(year: int, month: int, tz) -> datetime:
    return datetime(year, month, 1, tzinfo=tz)


def _next_month(dt: datetime) -> datetime:
    return dt.replace(year=dt.year + (dt.month == 12), month=dt.month % 12 + 1)


def time_range(text: str, now: datetime) -> TimeRange | None:
    """"last week", "this month", "yesterday", "in November", "before the 10th", "since Monday",
    "in the last 3 days", "on November 3": a [start, end) range in the local time of `now`."""
    local = now.astimezone()
    tz = local.tzinfo
    today = _day(local)
    m = re.search(r"\b(?:in the |over the |during the )?(?:last|past|previous) (\d+) (day|week|month|hour)s?\b", text)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {"day": timedelta(days=n), "week": timedelta(weeks=n), "hour": timedelta(hours=n),
                 "month": timedelta(days=30 * n)}[unit]
        return TimeRange(local - delta, None, m.group(0))
    if re.search(r"\b(?:last|past|previous) week\b", text):
        return TimeRange(local - timedelta(days=7), None, "last week")
    if re.search(r"\bthis week\b", text):
        return TimeRange(today - timedelta(days=today.weekday()), None, "this week")
    if re.search(r"\b(?:last|past|previous) month\b", text):
        first = _month_start(local.year, local.month, tz)
        prev = _month_start(local.year - (local.month == 1), (local.month - 2) % 12 + 1, tz)
        return TimeRange(prev, first, "last month")
    if re.search(r"\bthis month\b", text):
        return TimeRange(_month_start(local.year, local.month, tz), None, "this month")
    if re.search(r"\byesterday\b", text):
        return TimeRange(today - timedelta(days=1), today, "yesterday")
    if re.search(r"\btoday\b|\bthis morning\b|\bthis afternoon\b", text):
        return TimeRange(today, None, "today")
    m = re.search(r"\b(before|after|since|until|on) (?:the )?(\d{1,2})(?:st|nd|rd|th)\b(?: of (\w+))?", text)
    if m:
        day = int(m.group(2))
        month = MONTH_NAMES.get(m.group(3) or "", local.month)
        year = local.year if month <= local.month else local.year - 1
        try:
            moment = datetime(year, month, day, tzinfo=tz)
        except ValueError:
            return None
        word = m.group(1)
        if word in ("before", "until"):
            return TimeRange(None, moment, m.group(0))
        if word == "on":
            return TimeRange(moment, moment + timedelta(days=1), m.group(0))
        return TimeRange(moment + (timedelta(days=1) if word == "after" else timedelta(0)), None, m.group(0))
    month_words = "|".join(k for k in MONTH_NAMES)
    m = re.search(rf"\b(in|during|before|after|since|on) ({month_words})\b(?: (\d{{1,2}})(?:st|nd|rd|th)?\b)?(?: (\d{{4}}))?", text)
    if m:
        month = MONTH_NAMES[m.group(2)]
        year = int(m.group(4)) if m.group(4) else (local.year if month <= local.month else local.year - 1)
        start = _month_start(year, month, tz)
        if m.group(3):
            try:
                day = datetime(year, month, int(m.group(3)), tzinfo=tz)
            except ValueError:
                return None
            if m.group(1) in ("before",):
                return TimeRange(None, day, m.group(0))
            if m.group(1) in ("after", "since"):
                return TimeRange(day, None, m.group(0))
            return TimeRange(day, day + timedelta(days=1), m.group(0))
        if m.group(1) == "before":
            return TimeRange(None, start, m.group(0))
        if m.group(1) in ("after",):
            return TimeRange(_next_month(start), None, m.group(0))
        if m.group(1) == "since":
            return TimeRange(start, None, m.group(0))
        return TimeRange(start, _next_month(start), m.group(0))
    m = re.search(r"\b(?:since|from) (?:last )?(" + "|".join(WEEKDAY_NAMES) + r")\b", text)
    if m:
        back = (today.weekday() - WEEKDAY_NAMES[m.group(1)]) % 7 or 7
        return TimeRange(today - timedelta(days=back), None, m.group(0))
    m = re.search(r"\bon (" + "|".join(WEEKDAY_NAMES) + r")\b", text)
    if m:
        back = (today.weekday() - WEEKDAY_NAMES[m.group(1)]) % 7
        day = today - timedelta(days=back)
        return TimeRange(day, day + timedelta(days=1), m.group(0))
    m = re.search(r"\bin (\d{4})\b", text)
    if m and 1990 < int(m.group(1)) < 2200:
        year = int(m.group(1))
        return TimeRange(datetime(year, 1, 1, tzinfo=tz), datetime(year + 1, 1, 1, tzinfo=tz), m.group(0))
    return None
