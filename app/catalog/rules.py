"""Catalog rules on plain data: barcodes, SKUs, category paths, search terms, CSV rows.

No I/O here: the CSV reader takes an iterable of text lines (an open file is one).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Mapping

import msgspec

from app.catalog.errors import CategoryTooDeep, InvalidBarcode, InvalidSku
from app.core.auth import Channel
from app.core.errors import InvalidInput

# ---- barcodes (GTIN family) -----------------------------------------------------------

# EAN-8, UPC-A, EAN-13, GTIN-14: all share one check-digit rule.
GTIN_LENGTHS = (8, 12, 13, 14)
# The shape the OpenAPI schema states (digits of a GTIN length); the check digit it cannot.
BARCODE_PATTERN = "^(" + "|".join(f"[0-9]{{{n}}}" for n in GTIN_LENGTHS) + ")$"


def gtin_check_digit(body: str) -> int:
    """Check digit of a GTIN without it: weights 3,1,3,... from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def is_valid_gtin(code: str) -> bool:
    return (
        len(code) in GTIN_LENGTHS and code.isascii() and code.isdigit() and gtin_check_digit(code[:-1]) == int(code[-1])
    )


def validate_barcode(raw: str) -> str:
    """The barcode as stored (digits only, spaces removed), or InvalidBarcode."""
    code = raw.strip().replace(" ", "")
    if not (code.isascii() and code.isdigit()) or len(code) not in GTIN_LENGTHS:
        raise InvalidBarcode(f"{raw!r} is not 8, 12, 13 or 14 digits", barcode=raw)
    if not is_valid_gtin(code):
        raise InvalidBarcode(f"{raw!r} has a wrong check digit", barcode=raw)
    return code


def gtin14(code: str) -> str:
    """The GTIN-14 form: every GTIN padded with leading zeros to 14 digits."""
    return code.zfill(14)


def barcode_equivalents(code: str) -> list[str]:
    """Every way the same GTIN can be written (a scanner may send a UPC-A as 12 or 13 digits)."""
    full = gtin14(code)
    return [full[14 - n :] for n in GTIN_LENGTHS if set(full[: 14 - n]) <= {"0"}]


# ---- SKUs and codes -------------------------------------------------------------------

MAX_SKU_LENGTH = 64
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]*$"
MAX_CODE_LENGTH = 40
_SKU_RE = re.compile(SKU_PATTERN)
_CODE_RE = re.compile(CODE_PATTERN)


def validate_sku(raw: str) -> str:
    """SKUs are the retailer's own keys: letters, digits, '.', '_', '-' (no '/': it is a path segment)."""
    sku = raw.strip()
    if not sku or len(sku) > MAX_SKU_LENGTH or not _SKU_RE.match(sku):
        raise InvalidSku(f"{raw!r}: use 1-{MAX_SKU_LENGTH} letters, digits, '.', '_' or '-'", sku=raw)
    return sku


def is_valid_code(raw: str) -> bool:
    return 0 < len(raw) <= MAX_CODE_LENGTH and bool(_CODE_RE.match(raw))


# ---- categories -----------------------------------------------------------------------

MAX_CATEGORY_DEPTH = 8
PATH_SEPARATOR = "/"


def category_path(parent_path: str | None, code: str) -> str:
    """Materialized path of codes from the root: 'apparel/tops/shirts'."""
    path = f"{parent_path}{PATH_SEPARATOR}{code}" if parent_path else code
    if len(path_codes(path)) > MAX_CATEGORY_DEPTH:
        raise CategoryTooDeep(f"a category may be at most {MAX_CATEGORY_DEPTH} levels deep")
    return path


def path_codes(path: str) -> list[str]:
    return path.split(PATH_SEPARATOR)


def parent_path_of(path: str) -> str | None:
    head, sep, _ = path.rpartition(PATH_SEPARATOR)
    return head if sep else None


def path_prefixes(path: str) -> list[str]:
    """'a/b/c' -> ['a', 'a/b', 'a/b/c'] (root first, so parents are created before children)."""
    codes = path_codes(path)
    return [PATH_SEPARATOR.join(codes[: i + 1]) for i in range(len(codes))]


# ---- channels and search --------------------------------------------------------------

CHANNELS = frozenset(c.value for c in Channel)


def normalize_channels(values: Iterable[str]) -> list[str]:
    """Channels a product is not sold in: known names only, each once, sorted."""
    cleaned = {v.strip().lower() for v in values if v.strip()}
    unknown = sorted(cleaned - CHANNELS)
    if unknown:
        raise InvalidInput(f"unknown channel(s): {', '.join(unknown)}", code="unknown_channel")
    return sorted(cleaned)


_WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_SEARCH_WORDS = 8


def search_query(text: str) -> str | None:
    """A to_tsquery('simple', ...) string matching every word as a prefix ('blu shi' finds
    'Blue shirt'); None when the text has no word to search. Words are \\w+ only, so the
    user cannot inject tsquery operators."""
    words = [w.lower() for w in _WORD_RE.findall(text)][:MAX_SEARCH_WORDS]
    if not words:
        return None
    return " & ".join(f"{w}:*" for w in words)


# ---- CSV import rows ------------------------------------------------------------------


class CatalogRow(msgspec.Struct, kw_only=True):
    """One variant of one product, as the bulk import takes it (one CSV line)."""

    product_code: str
    product_name: str
    sku: str
    brand: str | None = None
    # Codes from the root, e.g. "apparel/tops/shirts"; missing categories are created.
    category_path: str | None = None
    # Or the code of an existing category (used when there is no path).
    category_code: str | None = None
    # Names the last category of the path when the import creates it.
    category_name: str | None = None
    size: str | None = None
    color: str | None = None
    barcode: str | None = None
    weight_grams: int | None = None
    not_sold_in: list[str] = msgspec.field(default_factory=list)
    returnable: bool = True
    attributes: dict[str, str] = msgspec.field(default_factory=dict)
    line: int = 0


class RowError(msgspec.Struct, kw_only=True):
    line: int
    code: str
    message: str
    sku: str | None = None


class RowRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class CsvHeaderInvalid(InvalidInput):
    code, title = "invalid_csv_header", "The CSV header is not valid"


REQUIRED_COLUMNS = ("product_code", "product_name", "sku")
OPTIONAL_COLUMNS = (
    "brand",
    "category_path",
    "category_code",
    "category_name",
    "size",
    "color",
    "barcode",
    "weight_grams",
    "not_sold_in",
    "returnable",
)
ATTRIBUTE_PREFIX = "attr."
MAX_WEIGHT_GRAMS = 1_000_000
_TRUE = {"", "true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}
_LIMITS = {"product_name": 200, "brand": 100, "size": 40, "color": 40, "category_name": 200}


def _text(raw: Mapping[str, str], column: str) -> str | None:
    value = (raw.get(column) or "").strip()
    if not value:
        return None
    limit = _LIMITS.get(column)
    if limit is not None and len(value) > limit:
        raise RowRejected("too_long", f"{column} is longer than {limit} characters")
    return value


def _code(value: str | None, column: str) -> str:
    if value is None or not is_valid_code(value):
        raise RowRejected(
            f"invalid_{column}", f"{column} {value!r}: use 1-{MAX_CODE_LENGTH} letters, digits, '.', '_' or '-'"
        )
    return value


def _category(raw: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(category_path, category_code): a path to create as needed, or an existing code."""
    path = _text(raw, "category_path")
    code = _text(raw, "category_code")
    if path is None:
        return None, (_code(code, "category_code") if code is not None else None)
    codes = [c.strip() for c in path.split(PATH_SEPARATOR)]
    for c in codes:
        _code(c, "category_path")
    if code is not None and code != codes[-1]:
        raise RowRejected("category_mismatch", f"category_code {code!r} is not the end of category_path {path!r}")
    if len(codes) > MAX_CATEGORY_DEPTH:
        raise RowRejected("category_too_deep", f"category_path has more than {MAX_CATEGORY_DEPTH} levels")
    return PATH_SEPARATOR.join(codes), None


def _weight(raw: Mapping[str, str]) -> int | None:
    value = _text(raw, "weight_grams")
    if value is None:
        return None
    if not value.isdigit() or int(value) > MAX_WEIGHT_GRAMS:
        raise RowRejected("invalid_weight", f"weight_grams {value!r}: use a whole number 0-{MAX_WEIGHT_GRAMS}")
    return int(value)


def _returnable(raw: Mapping[str, str]) -> bool:
    value = (raw.get("returnable") or "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RowRejected("invalid_returnable", f"returnable {value!r}: use true or false")


def _attributes(raw: Mapping[str, str]) -> dict[str, str]:
    attributes: dict[str, str] = {}
    for column, value in raw.items():
        if column.startswith(ATTRIBUTE_PREFIX) and value and value.strip():
            if len(value.strip()) > 200:
                raise RowRejected("too_long", f"{column} is longer than 200 characters")
            attributes[column[len(ATTRIBUTE_PREFIX) :]] = value.strip()
    return attributes


def parse_catalog_row(line: int, raw: Mapping[str, str]) -> CatalogRow:
    """One CSV record (column -> text) into a CatalogRow, or RowRejected naming what is wrong."""
    try:
        sku = validate_sku(raw.get("sku") or "")
        barcode = _text(raw, "barcode")
        not_sold_in = normalize_channels((raw.get("not_sold_in") or "").split("|"))
        if barcode is not None:
            barcode = validate_barcode(barcode)
    except InvalidInput as exc:
        raise RowRejected(exc.code, exc.detail or exc.title) from None
    name = _text(raw, "product_name")
    path, category_code = _category(raw)
    if name is None:
        raise RowRejected("missing_product_name", "product_name is empty")
    return CatalogRow(
        line=line,
        product_code=_code(_text(raw, "product_code"), "product_code"),
        product_name=name,
        sku=sku,
        brand=_text(raw, "brand"),
        category_path=path,
        category_code=category_code,
        category_name=_text(raw, "category_name"),
        size=_text(raw, "size"),
        color=_text(raw, "color"),
        barcode=barcode,
        weight_grams=_weight(raw),
        not_sold_in=not_sold_in,
        returnable=_returnable(raw),
        attributes=_attributes(raw),
    )


def check_header(header: list[str]) -> list[str]:
    names = [h.strip().lstrip("\ufeff").lower() for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    unknown = [n for n in names if n not in known and not n.startswith(ATTRIBUTE_PREFIX)]
    if missing or unknown or len(set(names)) != len(names):
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {', '.join(unknown)}")
        if len(set(names)) != len(names):
            problems.append("a column appears twice")
        raise CsvHeaderInvalid("; ".join(problems))
    return names


def read_catalog_csv(lines: Iterable[str]) -> Iterator[CatalogRow | RowError]:
    """Parse a catalog CSV (header on line 1): a CatalogRow per good line, a RowError (with
    its line number) per bad one. A SKU or barcode seen earlier in the file is a bad row."""
    reader = csv.reader(iter(lines))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvHeaderInvalid("the file is empty") from None
    names = check_header(header)
    seen_skus: dict[str, int] = {}
    seen_barcodes: dict[str, tuple[int, str]] = {}
    end = reader.line_num
    while True:
        start = end + 1
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            end = reader.line_num
            yield RowError(line=start, code="malformed_csv", message=str(exc))
            continue
        end = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            yield RowError(
                line=start, code="wrong_column_count", message=f"{len(record)} fields, the header has {len(names)}"
            )
            continue
        try:
            row = parse_catalog_row(start, dict(zip(names, record, strict=True)))
        except RowRejected as exc:
            yield RowError(line=start, code=exc.code, message=exc.message, sku=_raw_sku(names, record))
            continue
        error = duplicate_error(row, seen_skus, seen_barcodes)
        if error is not None:
            yield error
            continue
        yield row


def _raw_sku(names: list[str], record: list[str]) -> str | None:
    return record[names.index("sku")].strip() or None


def duplicate_error(
    row: CatalogRow, seen_skus: dict[str, int], seen_barcodes: dict[str, tuple[int, str]]
) -> RowError | None:
    """A RowError if the row's SKU or barcode was seen before (then remembers the row's)."""
    first = seen_skus.get(row.sku)
    if first is not None:
        where = f"on line {first}" if first else "in an earlier row"
        return RowError(line=row.line, code="duplicate_sku", message=f"SKU already {where}", sku=row.sku)
    if row.barcode is not None:
        key = gtin14(row.barcode)
        earlier = seen_barcodes.get(key)
        if earlier is not None:
            return RowError(
                line=row.line,
                code="duplicate_barcode",
                message=f"barcode already used by SKU {earlier[1]} on line {earlier[0]}",
                sku=row.sku,
            )
        seen_barcodes[key] = (row.line, row.sku)
    seen_skus[row.sku] = row.line
    return None
