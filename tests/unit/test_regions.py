"""The administrative division table and region validation (pure, no fakes)."""

from __future__ import annotations

from importlib import resources

import pytest

from petcover.domain import regions
from petcover.domain.regions import Area

REQUIRED = {
    "110000": "province", "110100": "city", "110101": "district", "110102": "district",
    "110105": "district", "110108": "district",
    "310000": "province", "310100": "city", "310101": "district", "310104": "district",
    "310105": "district", "310106": "district", "310115": "district",
    "440000": "province", "440100": "city", "440103": "district", "440104": "district",
    "440106": "district", "440300": "city", "440303": "district", "440304": "district", "440305": "district",
    "330000": "province", "330100": "city", "330102": "district", "330105": "district", "330106": "district",
    "510000": "province", "510100": "city", "510104": "district", "510105": "district", "510107": "district",
    "650000": "province", "650100": "city", "650102": "district", "650103": "district",
    "540000": "province", "540100": "city", "540102": "district",
}  # fmt: skip


def test_table_has_every_required_code_at_its_level():
    for code, level in REQUIRED.items():
        assert regions.level_of(code) == level, code


def test_names_and_parents_come_from_the_official_table():
    assert regions.get("110105").name == "朝阳区"
    assert regions.get("310115").name == "浦东新区"
    assert regions.get("650000").name == "新疆维吾尔自治区"
    assert regions.get("540102").parent == "540100"
    assert regions.get("440305").parent == "440300"
    assert regions.get("110000").parent is None


def test_data_file_states_its_source_and_date():
    text = resources.files("petcover").joinpath("data", "regions.csv").read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    assert any("Ministry of Civil Affairs" in line for line in header)
    assert any("2023-12-31" in line for line in header)
    assert "code,name,parent" in text


def test_ancestors_and_cover():
    assert regions.ancestors("110105") == ["110105", "110100", "110000"]
    assert regions.ancestors("440300") == ["440300", "440000"]
    assert regions.ancestors("999999") == ["999999"]
    assert regions.covers("110000", "110105")
    assert regions.covers("110100", "110105")
    assert regions.covers("110105", "110105")
    assert not regions.covers("110105", "110100")  # a district does not cover its whole city
    assert not regions.covers("310000", "110105")
    assert regions.area_of("110105") == Area("110000", "110100", "110105")
    assert regions.area_of("440300") == Area("440000", "440300")
    assert regions.area_of("123456") is None


@pytest.mark.parametrize(
    ("area", "message"),
    [
        (Area("310000", "310100", "110105"), "District 110105 is not in city 310100"),
        (Area("110000", "440300"), "City 440300 is not in province 110000"),
        (Area("110000", None, "110105"), "District 110105 needs its city (110100)"),
        (Area("110100"), "110100 (市辖区) is a city, not a province"),
        (Area("440000", "440303"), "440303 (罗湖区) is a district, not a city"),
        (Area("990000"), "Unknown administrative division code 990000"),
        (Area("440000", "440300", "440399"), "Unknown administrative division code 440399"),
    ],
)
def test_check_area_explains_the_problem(area, message):
    assert regions.check_area(area) == [message]


@pytest.mark.parametrize(
    "area",
    [Area("110000"), Area("110000", "110100"), Area("540000", "540100", "540102"), Area("440000", "440300", "440305")],
)
def test_valid_areas_have_no_problems(area):
    assert regions.check_area(area) == []


def test_validate_areas_gives_field_level_errors_in_order():
    errs = regions.validate_areas(
        [
            Area("110000"),
            Area("110000", "110100", "110105"),  # inside regions.0
            Area("310000", "310100", "110105"),  # district outside its city
            Area("110000"),  # duplicate
            Area("440000", "440300"),
        ]
    )
    assert errs == [
        {"field": "regions.1", "message": "Already covered by regions.0 (province 110000)"},
        {"field": "regions.2", "message": "District 110105 is not in city 310100"},
        {"field": "regions.3", "message": "Duplicate of regions.0"},
    ]


def test_validate_areas_uses_the_given_field_prefix():
    errs = regions.validate_areas([Area("650000", "650100", "540102")], "bindings.1.regions")
    assert errs == [{"field": "bindings.1.regions.0", "message": "District 540102 is not in city 650100"}]


def test_area_covered_by_a_list():
    served = [Area("440000", "440300"), Area("110000", "110100", "110108")]
    assert regions.area_covered(Area("440000", "440300", "440305"), served)
    assert regions.area_covered(Area("110000", "110100", "110108"), served)
    assert not regions.area_covered(Area("110000", "110100"), served)
    assert not regions.area_covered(Area("440000"), served)
    assert regions.any_covers(served, "440303")
    assert not regions.any_covers(served, "440103")


def test_build_table_refuses_broken_data():
    with pytest.raises(ValueError, match="unknown parent"):
        regions.build_table([("110101", "x", "110100")])
    with pytest.raises(ValueError, match="not in the province"):
        regions.build_table([("110000", "a", None), ("120100", "b", "110000")])
    with pytest.raises(ValueError, match="three levels"):
        regions.build_table(
            [("110000", "a", None), ("110100", "b", "110000"), ("110101", "c", "110100"), ("110102", "d", "110101")]
        )
