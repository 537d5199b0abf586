"""Send windows: campaigns start, and go on after a pause, only inside the configured hours.

``MAILGUARD_SEND_WINDOW`` ("09:00-18:00") on the working days of
``MAILGUARD_SEND_DAYS``, skipping public holidays of ``MAILGUARD_SEND_HOLIDAYS``
(Japan's by default, from the maintained ``holidays`` package: substitute and
citizens' holidays included) and the dates of ``MAILGUARD_SEND_CLOSED_DATES``
(e.g. the year-end closing, "12-29,12-30,12-31,01-02,01-03"). Times are local
(``MAILGUARD_TIME_ZONE``); the start is inclusive and the end exclusive. With no
window configured every moment is inside.

This module only does the arithmetic; the workflow uses it to set when sending
starts after approval, and the worker and the beat sweep to refuse to start or
continue early.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django.utils.translation import gettext as _

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
# Long enough to get past any run of holidays and closed dates; a window that never opens is refused.
SEARCH_DAYS = 400


@dataclass(frozen=True)
class SendWindow:
    start: time
    end: time | None  # None: the end of the day ("24:00")
    weekdays: frozenset[int]  # Monday = 0
    holiday_country: str  # "" = no public holidays skipped
    closed_dates: frozenset[tuple[int, int]]  # (month, day), every year

    def is_working_day(self, day: date) -> bool:
        if day.weekday() not in self.weekdays or (day.month, day.day) in self.closed_dates:
            return False
        return not (self.holiday_country and day in _holiday_calendar(self.holiday_country))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when the window is open then, else the next moment it opens."""
        local = timezone.localtime(at)
        for offset in range(SEARCH_DAYS):
            day = local.date() + timedelta(days=offset)
            if not self.is_working_day(day):
                continue
            opens, closes = self._bounds(day)
            if local < closes:
                return max(local, opens)
        raise ImproperlyConfigured("MAILGUARD_SEND_WINDOW never opens: check MAILGUARD_SEND_DAYS.")

    def is_open(self, at: datetime) -> bool:
        return self.next_open(at) == timezone.localtime(at)

    def _bounds(self, day: date) -> tuple[datetime, datetime]:
        opens = timezone.make_aware(datetime.combine(day, self.start))
        if self.end is None:
            return opens, timezone.make_aware(datetime.combine(day + timedelta(days=1), time()))
        return opens, timezone.make_aware(datetime.combine(day, self.end))


@lru_cache(maxsize=4)
def _holiday_calendar(country: str) -> holidays.HolidayBase:
    # The calendar fills in each year the first time a date of that year is looked up.
    return holidays.country_holidays(country)


def holiday_name(day: date) -> str:
    window = configured()
    if window is None or not window.holiday_country:
        return ""
    return _holiday_calendar(window.holiday_country).get(day) or ""


# --- Reading the configuration -------------------------------------------------------------


def configured() -> SendWindow | None:
    """The window from the settings, or None when there is none (always open)."""
    config = settings.MAILGUARD
    return _parse(config["SEND_WINDOW"], config["SEND_DAYS"], config["SEND_HOLIDAYS"],
                  config["SEND_CLOSED_DATES"])


@lru_cache(maxsize=8)
def _parse(hours: str, days: str, country: str, closed: str) -> SendWindow | None:
    if not hours.strip():
        return None
    start, end = _parse_hours(hours)
    return SendWindow(start=start, end=end, weekdays=_parse_days(days), holiday_country=country.strip().upper(),
                      closed_dates=_parse_closed_dates(closed))


def _parse_hours(hours: str) -> tuple[time, time | None]:
    try:
        first, last = (part.strip() for part in hours.split("-"))
        start = time.fromisoformat(first)
        end = None if last in ("24:00", "24:00:00") else time.fromisoformat(last)
    except ValueError as err:
        raise ImproperlyConfigured(
            f"MAILGUARD_SEND_WINDOW must look like 09:00-18:00, not {hours!r}.") from err
    if end is not None and end <= start:
        raise ImproperlyConfigured(f"MAILGUARD_SEND_WINDOW must end after it starts on the same day: {hours!r}.")
    return start, end


def _parse_days(days: str) -> frozenset[int]:
    names = [name.strip().lower()[:3] for name in days.split(",") if name.strip()]
    unknown = [name for name in names if name not in DAY_NAMES]
    if unknown or not names:
        raise ImproperlyConfigured(
            f"MAILGUARD_SEND_DAYS must list days such as mon,tue,wed,thu,fri, not {days!r}.")
    return frozenset(DAY_NAMES.index(name) for name in names)


def _parse_closed_dates(closed: str) -> frozenset[tuple[int, int]]:
    dates = set()
    for item in (part.strip() for part in closed.split(",")):
        if not item:
            continue
        try:
            parsed = datetime.strptime(f"2000-{item}", "%Y-%m-%d")  # a leap year: 02-29 is allowed
        except ValueError as err:
            raise ImproperlyConfigured(
                f"MAILGUARD_SEND_CLOSED_DATES takes month-day pairs such as 12-31, not {item!r}.") from err
        dates.add((parsed.month, parsed.day))
    return frozenset(dates)


# --- What the rest of MailGuard asks --------------------------------------------------------


def is_open(at: datetime | None = None) -> bool:
    window = configured()
    return window is None or window.is_open(at or timezone.now())


def next_open(at: datetime | None = None) -> datetime:
    at = at or timezone.now()
    window = configured()
    return at if window is None else window.next_open(at)


def start_after_approval(approved_at: datetime) -> datetime:
    """When sending starts: after the hold window, at the first moment the send window is open."""
    return next_open(approved_at + timedelta(seconds=settings.MAILGUARD["HOLD_SECONDS"]))


def expected_start(send_after: datetime | None, at: datetime | None = None) -> datetime:
    """For pages: when an approved (or paused and resumed) campaign will actually start or go on."""
    at = at or timezone.now()
    return next_open(max(at, send_after) if send_after else at)


def describe() -> str:
    """The window in the reader's language, e.g. "09:00–18:00 on mon, tue, … (not on public holidays)"."""
    window = configured()
    if window is None:
        return _("at any time")
    end = window.end.strftime("%H:%M") if window.end else "24:00"
    days = ", ".join(_day_label(index) for index in sorted(window.weekdays))
    text = _("%(start)s–%(end)s on %(days)s") % {"start": window.start.strftime("%H:%M"), "end": end, "days": days}
    if window.holiday_country:
        text += _(", not on public holidays")
    if window.closed_dates:
        text += _(", not on %(dates)s") % {
            "dates": ", ".join(f"{month}/{day}" for month, day in sorted(window.closed_dates))}
    return text


def _day_label(index: int) -> str:
    return [_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][index]


def system_check(app_configs=None, **kwargs) -> list[checks.Error]:
    """Refuse to start with send-window settings that cannot be read (``manage.py check``, every start)."""
    try:
        window = configured()
        if window is not None:
            window.next_open(timezone.now())
    except ImproperlyConfigured as err:
        return [checks.Error(str(err), id="mailguard.E001")]
    return []
