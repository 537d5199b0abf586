"""Charts for the auditor's dashboard: the numbers, and inline SVG drawn on the server.

No JavaScript and no external files: every chart is an ``<svg>`` element with
``<rect>`` bars and ``<text>`` labels, coloured through presentation attributes
(``fill=``), which the site's Content-Security-Policy allows (``style=`` it does
not, so none is written). Each bar carries its numbers in ``data-*`` attributes
and a ``<title>`` (the tooltip screen readers and mouse users get); the
dashboard also shows the same numbers as a table.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count

from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from .models import Campaign, DailyDeliveryCounts, DeliveryCounts

SENT_COLOUR = "#198754"
FAILED_COLOUR = "#dc3545"
STATE_COLOUR = "#0d6efd"
TRACK_COLOUR = "#e9ecef"
AXIS_COLOUR = "#adb5bd"
TEXT_COLOUR = "#212529"

_ids = count(1)


# --- The numbers --------------------------------------------------------------------------


@dataclass(frozen=True)
class DayCounts:
    day: date
    sent: int
    failed: int


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


@dataclass(frozen=True)
class BounceRate:
    sent: int
    failed: int

    @property
    def total(self) -> int:
        return self.sent + self.failed

    @property
    def rate(self) -> float | None:
        """failed / (sent + failed); None when nothing was sent or failed."""
        return self.failed / self.total if self.total else None

    @property
    def percent(self) -> str:
        return "—" if self.rate is None else f"{self.rate * 100:.1f} %"


def period(days: int = 30, today: date | None = None) -> tuple[date, date]:
    """The first and last day (in the site's time zone) of the last ``days`` days, today included."""
    last = today or timezone.localdate()
    return last - timedelta(days=days - 1), last


def daily_deliveries(days: int = 30, today: date | None = None) -> list[DayCounts]:
    """Messages the ESP accepted (by ``sent_at``) and messages that failed (by ``updated_at``), per day.

    Read from the per-day counters the ledger keeps, so a month costs the same at any volume.
    """
    first, last = period(days, today)
    rows = (
        DailyDeliveryCounts.objects.filter(day__gte=first, day__lte=last)
        .values("day").annotate(sent=Sum("sent"), failed=Sum("failed")).order_by()
    )
    found = {row["day"]: (row["sent"], row["failed"]) for row in rows}
    return [
        DayCounts(day, *found.get(day, (0, 0)))
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]


def campaigns_per_state() -> list[StateCount]:
    counts = dict(Campaign.objects.order_by().values_list("state").annotate(n=Count("id")))
    return [StateCount(value, str(label), counts.get(value, 0)) for value, label in Campaign.State.choices]


def bounce_rate(since: date | None = None) -> BounceRate:
    """failed / (sent + failed) over every delivery, or over those finished since a day (from the counters)."""
    if since is not None:
        totals = DailyDeliveryCounts.objects.filter(day__gte=since).aggregate(sent=Sum("sent"), failed=Sum("failed"))
    else:
        totals = DeliveryCounts.objects.aggregate(sent=Sum("sent"), failed=Sum("failed"))
    return BounceRate(totals["sent"] or 0, totals["failed"] or 0)


def bounce_rate_of(days: list[DayCounts]) -> BounceRate:
    """The bounce rate over the days already counted for the daily chart (no second count)."""
    return BounceRate(sum(d.sent for d in days), sum(d.failed for d in days))


# --- Drawing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    key: str  # stable, for data-series (tests and CSS read it)
    label: str  # translated, shown in the legend
    colour: str
    values: list[int]


def _attrs(**attributes) -> str:
    parts = []
    for name, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, float):
            value = f"{value:.2f}".rstrip("0").rstrip(".")
        parts.append(f'{name.rstrip("_").replace("_", "-")}="{escape(str(value))}"')
    return " ".join(parts)


def _text(x, y, content: str, **attributes) -> str:
    attributes.setdefault("fill", TEXT_COLOUR)
    attributes.setdefault("font_size", 11)
    return f"<text {_attrs(x=x, y=y, **attributes)}>{escape(content)}</text>"


def _svg(width: float, height: float, title: str, body: list[str], chart: str) -> SafeString:
    title_id = f"mg-chart-{next(_ids)}"
    attributes = _attrs(class_="mg-chart", viewBox=f"0 0 {width:g} {height:g}", role="img", data_chart=chart,
                        aria_labelledby=title_id, font_family="sans-serif")
    head = f'<svg xmlns="http://www.w3.org/2000/svg" {attributes}><title id="{title_id}">{escape(title)}</title>'

    return mark_safe(head + "".join(body) + "</svg>")  # every value above went through escape()


def _nice_max(value: int) -> int:
    """A round top for the value axis just above the highest bar: 1, 2, 3 … 10, 12, 15, 20, 25, 30 …"""
    if value <= 0:
        return 1
    step = 1
    while True:
        for factor in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8):
            top = factor * step
            if top == int(top) and top >= value:
                return int(top)
        step *= 10


def grouped_bar_chart(categories: list[str], labels: list[str], series: list[Series], *, title: str,
                      chart: str, label_every: int = 5) -> SafeString:
    """Vertical bars, one group per category (e.g. a day) and one bar per series in it.

    ``categories`` are stable keys (ISO dates) written into ``data-category``;
    ``labels`` are what the axis shows under every ``label_every``-th group.
    """
    left, right, top, bottom = 40, 10, 30, 36
    plot_height = 160
    bar_width, bar_gap, group_gap = 9, 1, 6
    group_width = len(series) * (bar_width + bar_gap) - bar_gap + group_gap
    width = left + len(categories) * group_width + right
    height = top + plot_height + bottom
    top_value = _nice_max(max((v for s in series for v in s.values), default=0))
    scale = plot_height / top_value
    base = top + plot_height

    body: list[str] = []
    # Legend along the top.
    x = left
    for s in series:
        body.append(f"<rect {_attrs(x=x, y=8, width=10, height=10, fill=s.colour)}></rect>")
        body.append(_text(x + 14, 17, s.label))
        x += 14 + 8 * max(len(s.label), 4) + 16
    # Value axis: gridlines at 0, half and the top.
    for value in (0, top_value // 2 if top_value > 1 else None, top_value):
        if value is None:
            continue
        y = base - value * scale
        line = _attrs(x1=left, x2=width - right, y1=y, y2=y, stroke=AXIS_COLOUR, stroke_width=0.5)
        body.append(f"<line {line}></line>")
        body.append(_text(left - 4, y + 4, str(value), text_anchor="end", font_size=10))
    # Bars.
    for index, (category, label) in enumerate(zip(categories, labels, strict=True)):
        group_x = left + index * group_width + group_gap / 2
        for position, s in enumerate(series):
            value = s.values[index]
            bar_height = value * scale
            attributes = _attrs(
                class_="bar", x=group_x + position * (bar_width + bar_gap), y=base - bar_height,
                width=bar_width, height=bar_height, fill=s.colour, data_series=s.key,
                data_category=category, data_value=value,
            )
            body.append(f"<rect {attributes}><title>{escape(label)} · {escape(s.label)}: {value}</title></rect>")
        if index % label_every == 0 or index == len(categories) - 1:
            centre = group_x + (group_width - group_gap) / 2
            body.append(_text(centre, base + 14, label, text_anchor="middle", font_size=10))
    return _svg(width, height, title, body, chart)


def horizontal_bar_chart(rows: list[tuple[str, str, int]], *, title: str, chart: str,
                         colour: str = STATE_COLOUR) -> SafeString:
    """One horizontal bar per row of (key, label, value), the value written after the bar."""
    label_width, bar_space, value_width = 150, 300, 50
    row_height, top = 24, 8
    width = label_width + bar_space + value_width
    height = top * 2 + row_height * len(rows)
    top_value = max((value for _, _, value in rows), default=0) or 1
    body: list[str] = []
    for index, (key, label, value) in enumerate(rows):
        y = top + index * row_height
        bar = bar_space * value / top_value
        body.append(_text(label_width - 8, y + 15, label, text_anchor="end"))
        track = _attrs(x=label_width, y=y + 4, width=bar_space, height=row_height - 8, fill=TRACK_COLOUR)
        body.append(f"<rect {track}></rect>")
        attributes = _attrs(class_="bar", x=label_width, y=y + 4, width=bar, height=row_height - 8, fill=colour,
                            data_series=chart, data_category=key, data_value=value)
        body.append(f"<rect {attributes}><title>{escape(label)}: {value}</title></rect>")
        body.append(_text(label_width + bar_space + 6, y + 15, str(value)))
    return _svg(width, height, title, body, chart)


def ratio_bar(rate: BounceRate, *, title: str, chart: str) -> SafeString:
    """A single bar split into sent and failed, with the failed share written next to it."""
    bar_x, bar_width, value_width, height = 4, 400, 90, 34
    width = bar_x + bar_width + value_width
    body = [f"<rect {_attrs(x=bar_x, y=6, width=bar_width, height=20, fill=TRACK_COLOUR)}></rect>"]
    if rate.total:
        failed_width = bar_width * rate.failed / rate.total
        sent = _attrs(class_="bar", x=bar_x, y=6, width=bar_width - failed_width, height=20, fill=SENT_COLOUR,
                      data_series="sent", data_value=rate.sent)
        failed = _attrs(class_="bar", x=bar_x + bar_width - failed_width, y=6, width=failed_width, height=20,
                        fill=FAILED_COLOUR, data_series="failed", data_value=rate.failed)
        body.append(f"<rect {sent}><title>{escape(_('Sent'))}: {rate.sent}</title></rect>")
        body.append(f"<rect {failed}><title>{escape(_('Failed'))}: {rate.failed}</title></rect>")
    body.append(_text(bar_x + bar_width + 8, 21, rate.percent, font_size=13, data_rate=rate.percent))
    return _svg(width, height, title, body, chart)


# --- The dashboard's three charts -------------------------------------------------------------


def daily_deliveries_svg(days: list[DayCounts]) -> SafeString:
    return grouped_bar_chart(
        [d.day.isoformat() for d in days],
        [f"{d.day.month}/{d.day.day}" for d in days],
        [
            Series("sent", _("Sent"), SENT_COLOUR, [d.sent for d in days]),
            Series("failed", _("Failed"), FAILED_COLOUR, [d.failed for d in days]),
        ],
        title=_("Messages sent and failed per day"),
        chart="daily-deliveries",
    )


def campaigns_per_state_svg(states: list[StateCount]) -> SafeString:
    return horizontal_bar_chart(
        [(s.state, s.label, s.count) for s in states], title=_("Campaigns per state"), chart="campaign-states"
    )


def bounce_rate_svg(rate: BounceRate) -> SafeString:
    return ratio_bar(rate, title=_("Bounce rate: failed / (sent + failed)"), chart="bounce-rate")
