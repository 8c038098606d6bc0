"""Problem types of the catalog (stable codes)."""

from __future__ import annotations

from app.core.errors import Conflict, InvalidInput, NotFound, declare_codes


class InvalidBarcode(InvalidInput):
    code, title = "invalid_barcode", "Barcode is not a valid EAN/UPC/GTIN"


class InvalidSku(InvalidInput):
    code, title = "invalid_sku", "SKU is not valid"


class DuplicateInRequest(InvalidInput):
    code, title = "duplicate_in_request", "The same SKU or barcode appears twice"


class UnknownCategory(InvalidInput):
    code, title = "unknown_category", "No category has this code"


class CategoryTooDeep(InvalidInput):
    code, title = "category_too_deep", "Category tree is too deep"


class UnknownProduct(NotFound):
    code, title = "unknown_product", "No product has this id"


class UnknownSku(NotFound):
    code, title = "unknown_sku", "No variant has this SKU"


class UnknownBarcode(NotFound):
    code, title = "unknown_barcode", "No variant has this barcode"


class SkuTaken(Conflict):
    code, title = "sku_taken", "SKU is already used"


class BarcodeTaken(Conflict):
    code, title = "barcode_taken", "Barcode is already used by another SKU"


class ProductCodeTaken(Conflict):
    code, title = "product_code_taken", "Product code is already used"


class CategoryCodeTaken(Conflict):
    code, title = "category_code_taken", "Category code is already used"


class CategoryPathConflict(Conflict):
    code, title = "category_path_conflict", "Category exists under another parent"


# Codes this domain passes as `code=` to refine a general problem (see app.core.errors).
declare_codes("unknown_channel")
