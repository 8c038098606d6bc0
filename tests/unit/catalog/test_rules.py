from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.catalog import rules
from app.catalog.errors import CategoryTooDeep, InvalidBarcode, InvalidSku
from app.catalog.rules import CatalogRow, CsvHeaderInvalid, RowError, RowRejected
from app.core.errors import InvalidInput

# ---- barcodes ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        "96385074",  # EAN-8
        "036000291452",  # UPC-A
        "4006381333931",  # EAN-13
        "5901234123457",  # EAN-13
        "10614141000415",  # GTIN-14
    ],
)
def test_known_barcodes_are_valid(code: str) -> None:
    assert rules.is_valid_gtin(code)
    assert rules.validate_barcode(code) == code


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("4006381333932", "check digit"),
        ("036000291453", "check digit"),
        ("1234567", "digits"),  # 7 digits
        ("12345678901", "digits"),  # 11 digits
        ("400638133393A", "digits"),
        ("", "digits"),
        ("４００６３８１３３３９３１", "digits"),  # full-width digits are digits to str.isdigit
    ],
)
def test_bad_barcodes_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(InvalidBarcode) as caught:
        rules.validate_barcode(raw)
    assert caught.value.code == "invalid_barcode"
    assert reason in str(caught.value)


def test_barcode_spaces_are_removed() -> None:
    assert rules.validate_barcode(" 4006381 333931 ") == "4006381333931"


def test_check_digit_examples() -> None:
    assert rules.gtin_check_digit("400638133393") == 1
    assert rules.gtin_check_digit("03600029145") == 2
    assert rules.gtin_check_digit("9638507") == 4


@given(st.sampled_from(rules.GTIN_LENGTHS).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1)))
def test_appending_the_check_digit_makes_a_valid_gtin(body: str) -> None:
    assert rules.is_valid_gtin(body + str(rules.gtin_check_digit(body)))


@given(
    st.sampled_from(rules.GTIN_LENGTHS).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1)),
    st.data(),
)
def test_any_single_digit_error_is_caught(body: str, data: st.DataObject) -> None:
    code = body + str(rules.gtin_check_digit(body))
    position = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != code[position]]))
    assert not rules.is_valid_gtin(code[:position] + wrong + code[position + 1 :])


@given(st.text("0123456789", min_size=11, max_size=11))
def test_leading_zeros_do_not_change_the_check_digit(body: str) -> None:
    # So a UPC-A and its EAN-13 form ("0" + UPC-A) are both valid and the same GTIN.
    assert rules.gtin_check_digit(body) == rules.gtin_check_digit("0" + body) == rules.gtin_check_digit("00" + body)


def test_barcode_equivalents_cover_every_gtin_form() -> None:
    assert rules.barcode_equivalents("036000291452") == ["036000291452", "0036000291452", "00036000291452"]
    assert rules.barcode_equivalents("0036000291452") == ["036000291452", "0036000291452", "00036000291452"]
    assert rules.barcode_equivalents("4006381333931") == ["4006381333931", "04006381333931"]
    assert rules.barcode_equivalents("96385074") == ["96385074", "000096385074", "0000096385074", "00000096385074"]
    # A 13-digit code that does not start with 0 has no 12-digit form.
    assert "400638133393" not in rules.barcode_equivalents("4006381333931")


# ---- SKUs, categories, channels, search --------------------------------------------------


@pytest.mark.parametrize("sku", ["A", "TSHIRT-BLU-M", "abc.def_1", "9" * 64])
def test_good_skus(sku: str) -> None:
    assert rules.validate_sku(f" {sku} ") == sku


@pytest.mark.parametrize("sku", ["", "  ", "-LEADING", "has space", "a/b", "9" * 65, "é"])
def test_bad_skus(sku: str) -> None:
    with pytest.raises(InvalidSku):
        rules.validate_sku(sku)


def test_category_paths() -> None:
    assert rules.category_path(None, "apparel") == "apparel"
    assert rules.category_path("apparel/tops", "shirts") == "apparel/tops/shirts"
    assert rules.path_prefixes("a/b/c") == ["a", "a/b", "a/b/c"]
    assert rules.parent_path_of("a/b/c") == "a/b"
    assert rules.parent_path_of("a") is None
    with pytest.raises(CategoryTooDeep):
        rules.category_path("/".join("abcdefgh"), "i")


def test_channels_are_normalized() -> None:
    assert rules.normalize_channels(["web", " POS", "web", ""]) == ["pos", "web"]
    with pytest.raises(InvalidInput) as caught:
        rules.normalize_channels(["web", "fax"])
    assert caught.value.code == "unknown_channel"


def test_search_query_matches_word_prefixes_and_drops_operators() -> None:
    assert rules.search_query("Blue  shi") == "blue:* & shi:*"
    assert rules.search_query("a & b | !c:*") == "a:* & b:* & c:*"
    assert rules.search_query("  !!! ") is None
    assert rules.search_query(" ".join(str(i) for i in range(20))) == " & ".join(f"{i}:*" for i in range(8))


# ---- CSV rows ----------------------------------------------------------------------------

HEADER = "product_code,product_name,brand,category_path,sku,size,color,barcode,weight_grams,not_sold_in,returnable"


def test_parse_a_full_row() -> None:
    row = rules.parse_catalog_row(
        7,
        {
            "product_code": "TS-1",
            "product_name": " Tee ",
            "sku": "TS-1-M",
            "brand": "",
            "category_path": "apparel / tops",
            "category_name": "Tops",
            "size": "M",
            "barcode": "4006381333931",
            "weight_grams": "180",
            "not_sold_in": "kiosk|web",
            "returnable": "no",
            "attr.material": "cotton",
            "attr.fit": " ",
        },
    )
    assert row == CatalogRow(
        line=7,
        product_code="TS-1",
        product_name="Tee",
        sku="TS-1-M",
        brand=None,
        category_path="apparel/tops",
        category_name="Tops",
        size="M",
        color=None,
        barcode="4006381333931",
        weight_grams=180,
        not_sold_in=["kiosk", "web"],
        returnable=False,
        attributes={"material": "cotton"},
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"sku": ""}, "invalid_sku"),
        ({"barcode": "4006381333932"}, "invalid_barcode"),
        ({"weight_grams": "-3"}, "invalid_weight"),
        ({"weight_grams": "1.5"}, "invalid_weight"),
        ({"returnable": "maybe"}, "invalid_returnable"),
        ({"not_sold_in": "web|fax"}, "unknown_channel"),
        ({"product_name": ""}, "missing_product_name"),
        ({"product_name": "x" * 201}, "too_long"),
        ({"product_code": "bad code"}, "invalid_product_code"),
        ({"category_path": "a//b"}, "invalid_category_path"),
        ({"category_path": "a/b", "category_code": "c"}, "category_mismatch"),
    ],
)
def test_bad_rows_name_what_is_wrong(change: dict[str, str], code: str) -> None:
    raw = {"product_code": "P1", "product_name": "Thing", "sku": "S1", **change}
    with pytest.raises(RowRejected) as caught:
        rules.parse_catalog_row(2, raw)
    assert caught.value.code == code


def test_category_code_alone_names_an_existing_category() -> None:
    row = rules.parse_catalog_row(2, {"product_code": "P", "product_name": "N", "sku": "S", "category_code": "tops"})
    assert (row.category_path, row.category_code) == (None, "tops")


def test_csv_reports_bad_lines_by_number_and_keeps_the_rest() -> None:
    text = [
        HEADER,
        "TS,Tee,Acme,apparel/tops,TS-S,S,blue,4006381333931,150,,true",
        "TS,Tee,Acme,apparel/tops,TS-M,M,blue,4006381333932,160,,true",  # bad check digit
        "",
        "TS,Tee,Acme,apparel/tops,TS-S,L,blue,,170,,true",  # SKU repeated
        '"JK","Jacket, warm",Acme,apparel,JK-1,L,black,036000291452,900,pos|web,false',
        "JK,Jacket,Acme,apparel,JK-2,XL,black,0036000291452,900,,",  # same GTIN as line 6
        "too,few,fields",
    ]
    results = list(rules.read_catalog_csv(text))
    rows = [r for r in results if isinstance(r, CatalogRow)]
    errors = [r for r in results if isinstance(r, RowError)]
    assert [(r.line, r.sku) for r in rows] == [(2, "TS-S"), (6, "JK-1")]
    assert rows[1].product_name == "Jacket, warm"
    assert rows[1].not_sold_in == ["pos", "web"]
    assert [(e.line, e.code) for e in errors] == [
        (3, "invalid_barcode"),
        (5, "duplicate_sku"),
        (7, "duplicate_barcode"),
        (8, "wrong_column_count"),
    ]
    assert errors[1].message == "SKU already on line 2"


def test_csv_line_numbers_count_multiline_fields() -> None:
    text = ["product_code,product_name,sku", 'P1,"two\nlines",S1', "P2,x,", "P3,y,S3"]
    results = list(rules.read_catalog_csv("\n".join(text).splitlines(keepends=True)))
    assert [(r.line, type(r).__name__) for r in results] == [(2, "CatalogRow"), (4, "RowError"), (5, "CatalogRow")]


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("product_code,sku", "missing column(s): product_name"),
        ("product_code,product_name,sku,price", "unknown column(s): price"),
        ("product_code,product_name,sku,sku", "a column appears twice"),
    ],
)
def test_csv_header_is_checked(header: str, message: str) -> None:
    with pytest.raises(CsvHeaderInvalid) as caught:
        list(rules.read_catalog_csv([header]))
    assert message in str(caught.value)


def test_csv_header_may_carry_a_bom_and_any_case() -> None:
    results = list(rules.read_catalog_csv(["\ufeffProduct_Code,PRODUCT_NAME,Sku", "P,N,S"]))
    assert isinstance(results[0], CatalogRow)


def test_empty_csv_is_refused() -> None:
    with pytest.raises(CsvHeaderInvalid):
        list(rules.read_catalog_csv([]))
