"""Code 128: known symbols decoded by hand, and a decoder of our own drawing round-trips."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.core.barcode import PATTERNS, QUIET_ZONE, code128_modules, code128_svg, code128_values


def test_the_table_is_the_standard_one() -> None:
    assert len(PATTERNS) == 107
    assert all(sum(map(int, p)) == 11 for p in PATTERNS[:106])
    assert sum(map(int, PATTERNS[106])) == 13
    assert len(set(PATTERNS)) == 107


def test_a_set_b_symbol_worked_by_hand() -> None:
    # "PJJ123C": start B 104, values P=48 J=42 J=42 1=17 2=18 3=19 C=35;
    # checksum (104 + 48 + 2*42 + 3*42 + 4*17 + 5*18 + 6*19 + 7*35) mod 103 = 879 mod 103 = 55.
    assert code128_values("PJJ123C") == [104, 48, 42, 42, 17, 18, 19, 35, 55]


def test_an_ean13_is_packed_in_set_c_when_even() -> None:
    # 14 digits (GTIN-14) = 7 pairs; 12 digits (UPC-A) = 6 pairs; 13 digits (EAN-13) go to set B.
    assert code128_values("04006381333931")[:8] == [105, 4, 0, 63, 81, 33, 39, 31]
    assert code128_values("4006381333931")[0] == 104
    values = code128_values("12345678")
    assert values == [105, 12, 34, 56, 78, (105 + 12 + 2 * 34 + 3 * 56 + 4 * 78) % 103]


@pytest.mark.parametrize("bad", ["", "größe", "tab\there"])
def test_what_cannot_be_encoded_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        code128_values(bad)


def _decode(modules: str) -> list[int]:
    """Read the bars back: widths of runs, 6 per symbol, looked up in the table."""
    body = modules[QUIET_ZONE:-QUIET_ZONE]
    runs = [len(m.group(0)) for m in re.finditer(r"1+|0+", body)]
    symbols = ["".join(map(str, runs[i : i + 6])) for i in range(0, len(runs) - 7, 6)]
    assert "".join(map(str, runs[-7:])) == PATTERNS[106]
    return [PATTERNS.index(s) for s in symbols]


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=30))
def test_the_drawing_reads_back_as_the_values(text: str) -> None:
    assert _decode(code128_modules(text)) == code128_values(text)


def test_the_svg_draws_one_rect_per_bar_and_names_its_text() -> None:
    svg = code128_svg("SKU-1")
    modules = code128_modules("SKU-1")
    assert svg.count("<rect x=") == len(re.findall(r"1+", modules))
    assert f'viewBox="0 0 {len(modules)} 48"' in svg
    assert 'aria-label="barcode SKU-1"' in svg
