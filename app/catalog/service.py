"""Catalog use cases (the code lives in `app/catalog/usecases/`; this is its face).
Modules: `variants.py` (facts, variant look-ups), `categories.py`, `products.py`, `bulk_import.py`.

Public functions (other domains call only these):
- `variant_facts(session, skus) -> dict[str, VariantFacts]`: what pricing, inventory and
  returns need to know of a SKU (product, category path, channels it is not sold in,
  returnable). Unknown SKUs are absent from the result.
- `create_category(session, body: CategoryCreate) -> CategoryOut`
- `list_categories(session, *, under, limit, cursor) -> Page[CategoryOut]` (depth first by path)
- `create_product(session, body: ProductCreate) -> ProductOut` (variants inline)
- `update_product(session, product_id, body: ProductUpdate) -> ProductOut` (adds/updates variants)
- `get_product(session, product_id) -> ProductOut`
- `list_products(session, *, category, q, channel, limit, cursor) -> Page[ProductOut]`
- `get_variant(session, sku) -> VariantDetail`
- `find_variant_by_barcode(session, barcode) -> VariantDetail` (any GTIN form: UPC-A as 12 or 13 digits)
- `upsert_catalog(session, rows, *, chunk_size=1000) -> ImportReport`: the bulk import
  (CSV and demo seeding), idempotent by SKU.

Bulk import CSV (`oms catalog import FILE.csv`; parsed by `rules.read_catalog_csv`), one line
per variant, header on line 1, columns in any order:

  product_code   required; the product's code (variants of one product share it)
  product_name   required
  sku            required; the retailer's key of the variant: re-importing a SKU updates it
  brand          optional
  category_path  optional; category codes from the root, '/'-separated ("apparel/tops");
                 missing categories are created
  category_code  optional; an existing category (when there is no category_path)
  category_name  optional; name of the last category of the path when the import creates it
  size, color    optional
  barcode        optional; EAN-8, UPC-A, EAN-13 or GTIN-14 with a valid check digit
  weight_grams   optional; whole grams
  not_sold_in    optional; channels where it is not sold, '|'-separated (web|kiosk)
  returnable     optional; true/false (default true)
  attr.<name>    optional; any number of variant attributes ("attr.material")

Product fields repeat on every line of a product; the last line wins. The import sets every
field above (blank = empty) and leaves description and product attributes, which only the
API edits, alone. A bad line is reported with its line number and the others still import.
"""

from __future__ import annotations

from app.catalog.usecases.bulk_import import ImportReport, upsert_catalog
from app.catalog.usecases.categories import create_category, list_categories
from app.catalog.usecases.products import create_product, get_product, list_products, update_product
from app.catalog.usecases.variants import VariantFacts, find_variant_by_barcode, get_variant, variant_facts

__all__ = [
    "ImportReport",
    "VariantFacts",
    "create_category",
    "create_product",
    "find_variant_by_barcode",
    "get_product",
    "get_variant",
    "list_categories",
    "list_products",
    "update_product",
    "upsert_catalog",
    "variant_facts",
]
