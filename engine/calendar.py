"""Working days for 提交报告: chinesecalendar's State Council data plus the rubric's overrides."""

from __future__ import annotations

import datetime as dt

import chinese_calendar  # untyped; pyproject's mypy override ignores its missing stubs

from engine.diagnostics import CalendarError
from engine.measures.base import WorkCalendar
from engine.rubric.schema import CalendarSpec


class RubricCalendar(WorkCalendar):
    """Working days per the rubric: explicit overrides first, then chinesecalendar.

    A year outside chinesecalendar's data and not in `override_years` is an error, never a guess.
    """

    def __init__(self, spec: CalendarSpec) -> None:
        self.spec = spec
        self._workdays = set(spec.extra_workdays)
        self._rest = set(spec.extra_rest_days)
        self._override_years = set(spec.override_years)

    def is_workday(self, day: dt.date) -> bool:
        """Whether `day` is a working day (调休上班 days are; holidays on weekdays are not)."""
        if day in self._workdays:
            return True
        if day in self._rest:
            return False
        if day.year in self._override_years:
            return day.weekday() < 5
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError as exc:
            raise CalendarError(
                f"no working-day data for {day.year}: add it to the rubric's [calendar] "
                "override_years / extra_workdays / extra_rest_days"
            ) from exc

    def workdays_between(self, after: dt.date, upto: dt.date) -> int:
        """Working days d with after < d <= upto (0 when upto <= after)."""
        count = 0
        day = after + dt.timedelta(days=1)
        while day <= upto:
            count += self.is_workday(day)
            day += dt.timedelta(days=1)
        return count

    def effective_deadline(self, deadline: dt.date) -> dt.date:
        """The deadline, moved to the next working day when the rubric says so."""
        if not self.spec.deadline_moves_if_rest_day:
            return deadline
        while not self.is_workday(deadline):
            deadline += dt.timedelta(days=1)
        return deadline

    def days_late(self, deadline: dt.date, received: dt.date) -> int:
        """Working days late: after the (effective) deadline, up to and including the day received."""
        due = self.effective_deadline(deadline)
        late = self.workdays_between(due, received)
        if (
            received > due
            and self.spec.receipt_on_rest_day_counts
            and not self.is_workday(received)
        ):
            late += 1
        return late
