"""The measure interface: a generic, parameterised function that derives facts from a package.

Measures hold no rubric numbers, keywords or section names: those arrive as parameters from
TOML. Each fact is one thing judged (the package, a unit, a report section, an indicator row,
a table relation); rules are conditions over a fact's fields.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from engine.model import Location, Package

# Re-exported (the `as` form is mypy --strict's explicit re-export): measures name them here.
from engine.model.facts import FieldType as FieldType  # noqa: PLC0414
from engine.model.facts import FieldValue as FieldValue  # noqa: PLC0414

Mode = Literal["bureau", "precheck"]


@dataclass(frozen=True)
class Evidence:
    """A value and the place it was read from."""

    location: str
    value: str

    @classmethod
    def at(cls, location: Location, value: str) -> Evidence:
        """Evidence at a document location."""
        return cls(location.rendered, value)


Explanation = tuple[tuple[Evidence, ...], dict[str, str]]


class _Later:
    """A fact's evidence and detail, built on first read: most facts match no rule (66 of 112
    on the example), and writing out their arithmetic is much of a measure's cost."""

    __slots__ = ("_build", "_value")

    def __init__(self, build: Callable[[], Explanation]) -> None:
        self._build: Callable[[], Explanation] | None = build
        self._value: Explanation | None = None

    def value(self) -> Explanation:
        if self._value is None:
            assert self._build is not None
            self._value, self._build = self._build(), None
        return self._value


class LazyEvidence(Sequence[Evidence]):
    """A fact's evidence, built when first read (see `explain_later`)."""

    __slots__ = ("_later",)

    def __init__(self, later: _Later) -> None:
        self._later = later

    def __getitem__(self, index: Any) -> Any:
        return self._later.value()[0][index]

    def __len__(self) -> int:
        return len(self._later.value()[0])

    def __iter__(self) -> Iterator[Evidence]:
        return iter(self._later.value()[0])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyEvidence):
            other = tuple(other)
        return self._later.value()[0] == other

    __hash__ = None  # type: ignore[assignment]  # compares as its tuple, but is not one

    def __repr__(self) -> str:
        return repr(self._later.value()[0])


class LazyDetail(Mapping[str, str]):
    """A fact's detail, built when first read (see `explain_later`)."""

    __slots__ = ("_later",)

    def __init__(self, later: _Later) -> None:
        self._later = later

    def __getitem__(self, key: str) -> str:
        return self._later.value()[1][key]

    def __len__(self) -> int:
        return len(self._later.value()[1])

    def __iter__(self) -> Iterator[str]:
        return iter(self._later.value()[1])

    def __contains__(self, key: object) -> bool:
        return key in self._later.value()[1]

    def get(self, key: str, default: Any = None) -> Any:
        # The dict's own get: Mapping.get goes through __getitem__ and a KeyError per miss.
        return self._later.value()[1].get(key, default)

    def __repr__(self) -> str:
        return repr(self._later.value()[1])


def explained(evidence: Sequence[Evidence], detail: Mapping[str, str]) -> Explanation | None:
    """A fact's lazy (evidence, detail), built, as a tuple and a dict; None when they are not
    lazy. For a reader of several entries: each read of a Lazy* is one more Python call."""
    if type(evidence) is LazyEvidence and type(detail) is LazyDetail:
        later = evidence._later
        if detail._later is later:
            return later.value()
    return None


def explain_later(build: Callable[[], Explanation]) -> tuple[LazyEvidence, LazyDetail]:
    """(evidence, detail) for a Fact, both built by one call of `build` when first read.

    `build` must capture the values it needs now (a `functools.partial`, not a closure over
    loop variables), and be pure: the report reads the same text whenever it is built."""
    later = _Later(build)
    return LazyEvidence(later), LazyDetail(later)


@dataclass(frozen=True)
class Fact:
    """One thing judged, with the fields rules read and the evidence behind them."""

    key: str  # stable and unique within its measure, e.g. "项目支出绩效自评表[业务工作经费]/效益指标"
    fields: Mapping[str, FieldValue]
    subject: str = ""  # what is judged, for people: "自评通知要素「自评范围」"
    # A tuple, or a LazyEvidence from `explain_later` (built only when a rule or band reads it).
    evidence: Sequence[Evidence] = ()
    # Evidence the package lacks. In precheck mode the fact is withheld and each entry becomes a
    # needs_input line; in bureau mode the fact stands (the measure has already scored the
    # missing evidence as "not done") and the reason says the evidence is missing.
    needs_input: tuple[str, ...] = ()
    # For findings: table / row / column / expected / found / expression, shown to people.
    detail: Mapping[str, str] = field(default_factory=dict)


class WorkCalendar:
    """Working days, by chinesecalendar plus the rubric's overrides. Implemented in engine.calendar."""

    def workdays_between(
        self, after: dt.date, upto: dt.date
    ) -> int:  # pragma: no cover - interface
        """Working days d with after < d <= upto."""
        raise NotImplementedError

    def is_workday(self, day: dt.date) -> bool:  # pragma: no cover - interface
        """Whether `day` is a working day."""
        raise NotImplementedError

    def days_late(
        self, deadline: dt.date, received: dt.date
    ) -> int:  # pragma: no cover - interface
        """Working days late, per the rubric's calendar policy."""
        raise NotImplementedError


@dataclass(frozen=True)
class MeasureContext:
    """What a measure may know besides its parameters: never the wall clock."""

    mode: Mode
    as_of: dt.date
    calendar: WorkCalendar
    deadline: dt.date | None = None  # the rubric version's deadline; the manifest may override it
    # Data files loaded with the rubric, by the reference a parameter gives
    # (`rules/vocabulary/2024.1.toml`): the loader resolves and loads them, measures never read.
    data: Mapping[str, object] = field(default_factory=dict)


class Params(BaseModel):
    """Base of every measure's parameter model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def data_file_param(kind: str) -> Any:
    """A measure parameter naming a data file of `kind` (`rules/<kind>/<version>.toml`).

    The rubric loader resolves it inside the rules root, loads it with the kind's model
    (engine.rubric.datafiles), hashes it into the bundle, and the measure reads the loaded
    object as `ctx.data[params.<name>]`: a measure never opens a file.
    """
    return Field(min_length=1, json_schema_extra={"data_file": kind})


MeasureFn = Callable[[Package, Any, MeasureContext], list[Fact]]


@dataclass(frozen=True)
class MeasureSpec:
    """A measure kind: its parameter model, the fields of the facts it yields, and its function."""

    kind: str
    params: type[Params]
    fields: Mapping[str, FieldType]
    fn: MeasureFn
    doc: str


REGISTRY: dict[str, MeasureSpec] = {}


def measure(
    kind: str, *, params: type[Params], fields: Mapping[str, FieldType]
) -> Callable[[MeasureFn], MeasureFn]:
    """Register a measure kind. Names are unique; a second registration is a programming error."""

    def register(fn: MeasureFn) -> MeasureFn:
        if kind in REGISTRY:
            raise RuntimeError(f"measure kind registered twice: {kind}")
        REGISTRY[kind] = MeasureSpec(
            kind=kind, params=params, fields=dict(fields), fn=fn, doc=(fn.__doc__ or "").strip()
        )
        return fn

    return register
