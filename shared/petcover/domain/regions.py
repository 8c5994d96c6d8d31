"""China's administrative divisions (GB/T 2260 codes): lookup and validation of service regions.

Pure domain code: the table ships with the package as ``petcover/data/regions.csv``
(``code,name,parent``; the source and its date are in the file's header comment) and is read
once. A region entry names a province, optionally a city in it, and optionally a district in
that city. Validation returns field-level errors like
``{"field": "regions.2", "message": "District 110105 is not in city 310100"}``.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal

Level = Literal["province", "city", "district"]
FieldError = dict[str, str]

DATA_FILE = "regions.csv"


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    parent: str | None
    level: Level


@dataclass(frozen=True)
class Area:
    """One service-region entry: a whole province, a whole city, or one district."""

    province: str
    city: str | None = None
    district: str | None = None

    @property
    def code(self) -> str:
        """The most specific code of the entry."""
        return self.district or self.city or self.province


def _read_rows(text: str) -> list[tuple[str, str, str | None]]:
    lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    rows: list[tuple[str, str, str | None]] = []
    for rec in csv.DictReader(io.StringIO("\n".join(lines))):
        code = (rec.get("code") or "").strip()
        name = (rec.get("name") or "").strip()
        parent = (rec.get("parent") or "").strip() or None
        if len(code) != 6 or not code.isdigit():
            raise ValueError(f"{DATA_FILE}: bad code {code!r}")
        rows.append((code, name, parent))
    return rows


def build_table(rows: Iterable[tuple[str, str, str | None]]) -> dict[str, Division]:
    """Index rows by code and derive each level from the parent chain (checked for sanity)."""
    raw = {code: (name, parent) for code, name, parent in rows}
    table: dict[str, Division] = {}
    for code, (name, parent) in raw.items():
        depth = 0
        cursor = parent
        while cursor is not None:
            if cursor not in raw:
                raise ValueError(f"{DATA_FILE}: {code} names unknown parent {cursor}")
            depth += 1
            if depth > 2:
                raise ValueError(f"{DATA_FILE}: {code} is nested more than three levels deep")
            cursor = raw[cursor][1]
        level: Level = ("province", "city", "district")[depth]  # type: ignore[assignment]
        if parent is not None and parent[:2] != code[:2]:
            raise ValueError(f"{DATA_FILE}: {code} is not in the province of its parent {parent}")
        table[code] = Division(code, name, parent, level)
    return table


@cache
def table() -> dict[str, Division]:
    text = resources.files("petcover").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return build_table(_read_rows(text))


def get(code: str) -> Division | None:
    return table().get(code)


def level_of(code: str) -> Level | None:
    d = get(code)
    return d.level if d else None


def ancestors(code: str) -> list[str]:
    """The code itself, then its city and province (an unknown code is only itself)."""
    chain = [code]
    d = get(code)
    while d is not None and d.parent is not None:
        chain.append(d.parent)
        d = get(d.parent)
    return chain


def area_of(code: str) -> Area | None:
    """The entry that names exactly this division (province, city or district)."""
    d = get(code)
    if d is None:
        return None
    chain = ancestors(code)
    if d.level == "province":
        return Area(code)
    if d.level == "city":
        return Area(chain[1], code)
    return Area(chain[2], chain[1], code)


def covers(area_code: str, target_code: str) -> bool:
    """True when the division ``area_code`` contains (or is) ``target_code``."""
    return area_code in ancestors(target_code)


def _describe(code: str) -> str:
    d = get(code)
    return f"{d.level} {code}" if d else code


def check_area(area: Area) -> list[str]:
    """Problems with one entry, as sentences (empty when the entry is valid)."""
    problems: list[str] = []
    levels: tuple[tuple[str | None, Level], ...] = (
        (area.province, "province"),
        (area.city, "city"),
        (area.district, "district"),
    )
    for code, wanted in levels:
        if code is None:
            continue
        d = get(code)
        if d is None:
            problems.append(f"Unknown administrative division code {code}")
        elif d.level != wanted:
            problems.append(f"{code} ({d.name}) is a {d.level}, not a {wanted}")
    if problems:
        return problems
    if area.district is not None and area.city is None:
        return [f"District {area.district} needs its city ({ancestors(area.district)[1]})"]
    city = get(area.city) if area.city is not None else None
    if city is not None and city.parent != area.province:
        problems.append(f"City {area.city} is not in province {area.province}")
    district = get(area.district) if area.district is not None else None
    if district is not None and district.parent != area.city:
        problems.append(f"District {area.district} is not in city {area.city}")
    return problems


def validate_areas(areas: Sequence[Area], field: str = "regions") -> list[FieldError]:
    """Field errors for a region list: codes, levels, parents, duplicates and overlaps.

    Emptiness is a completeness rule and is left to the caller.
    """
    errors: list[FieldError] = []
    valid: list[tuple[int, Area]] = []
    for i, area in enumerate(areas):
        problems = check_area(area)
        errors.extend({"field": f"{field}.{i}", "message": m} for m in problems)
        if not problems:
            valid.append((i, area))
    for i, area in valid:
        for j, other in valid:
            if j == i:
                continue
            if other.code == area.code:
                if j < i:
                    errors.append({"field": f"{field}.{i}", "message": f"Duplicate of {field}.{j}"})
                    break
            elif covers(other.code, area.code):
                message = f"Already covered by {field}.{j} ({_describe(other.code)})"
                errors.append({"field": f"{field}.{i}", "message": message})
                break
    errors.sort(key=lambda e: int(e["field"].rsplit(".", 1)[1]))
    return errors


def area_covered(area: Area, by: Iterable[Area]) -> bool:
    """True when ``area`` lies inside one of ``by`` (each a province, city or district)."""
    return any(covers(b.code, area.code) for b in by)


def any_covers(areas: Iterable[Area], target_code: str) -> bool:
    """True when one of ``areas`` contains the division ``target_code``."""
    return any(covers(a.code, target_code) for a in areas)
