"""Working days for 提交报告 follow the State Council's holiday notices, plus rubric overrides."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.calendar import RubricCalendar
from engine.diagnostics import CalendarError
from engine.rubric.schema import CalendarSpec

D = dt.date


@pytest.mark.parametrize(
    ("deadline", "received", "late"),
    [
        (D(2024, 6, 21), D(2024, 6, 28), 5),  # domain.md §5's example
        (D(2024, 6, 30), D(2024, 6, 28), 0),  # early
        (D(2024, 6, 28), D(2024, 6, 28), 0),  # on the day
        (D(2024, 9, 30), D(2024, 10, 8), 1),  # 国庆 1-7 Oct are not working days
        (D(2024, 9, 27), D(2024, 9, 30), 2),  # Sun 29 Sep 2024 was a 调休 working day
        (D(2024, 6, 28), D(2024, 6, 30), 0),  # received on the weekend right after
    ],
)
def test_days_late(deadline: dt.date, received: dt.date, late: int) -> None:
    assert RubricCalendar(CalendarSpec()).days_late(deadline, received) == late


def test_weekend_receipt_counts_when_the_rubric_says_so() -> None:
    spec = CalendarSpec(receipt_on_rest_day_counts=True)
    assert RubricCalendar(spec).days_late(D(2024, 6, 28), D(2024, 6, 30)) == 1


def test_deadline_on_a_rest_day_moves_when_the_rubric_says_so() -> None:
    # Deadline Sun 30 Jun 2024; received Mon 1 Jul.
    assert RubricCalendar(CalendarSpec()).days_late(D(2024, 6, 30), D(2024, 7, 1)) == 1
    moving = CalendarSpec(deadline_moves_if_rest_day=True)
    assert RubricCalendar(moving).days_late(D(2024, 6, 30), D(2024, 7, 1)) == 0


def test_year_without_data_is_an_error_unless_overridden() -> None:
    with pytest.raises(CalendarError, match="2031"):
        RubricCalendar(CalendarSpec()).days_late(D(2031, 6, 30), D(2031, 7, 3))
    spec = CalendarSpec(override_years=[2031], extra_rest_days=[D(2031, 7, 1)])
    assert RubricCalendar(spec).days_late(D(2031, 6, 30), D(2031, 7, 3)) == 2


def test_extra_workday_override_wins() -> None:
    spec = CalendarSpec(extra_workdays=[D(2024, 6, 29)])
    assert RubricCalendar(spec).days_late(D(2024, 6, 28), D(2024, 6, 29)) == 1
