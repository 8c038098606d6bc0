from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.catalog.models import Category, Product, Variant
from tests.conftest import Api
from tests.factories import persist
from tests.factories.catalog import CategoryFactory, ProductFactory, VariantFactory, ean13


def product_body(code: str = "TS-1", **extra: Any) -> dict[str, Any]:
    return {
        "code": code,
        "name": "Oxford Shirt",
        "brand": "Acme",
        "variants": [
            {"sku": f"{code}-M", "size": "M", "color": "blue", "barcode": ean13(1), "weight_grams": 200},
            {"sku": f"{code}-L", "size": "L", "color": "blue", "attributes": {"fit": "slim"}},
        ],
        **extra,
    }


async def count(db: AsyncSession, model: type) -> int:
    return int(await db.scalar(select(func.count()).select_from(model)) or 0)


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


async def test_merchandiser_creates_and_every_role_reads(api: Api) -> None:
    created = await api.as_("merchandiser").post("/v1/products", json=product_body())
    assert created.status_code == 201, created.text
    product = created.json()
    assert (product["code"], product["returnable"], product["not_sold_in"]) == ("TS-1", True, [])
    assert [(v["sku"], v["barcode"]) for v in product["variants"]] == [("TS-1-L", None), ("TS-1-M", ean13(1))]
    for role in ("admin", "storefront", "pos", "kiosk", "logistics", "integration", "contact_center"):
        got = await api.as_(role).get(f"/v1/products/{product['id']}")
        assert got.status_code == 200, (role, got.text)
        assert got.json() == product
    scanned = await api.as_("pos").get("/v1/variants", params={"barcode": ean13(1)})
    assert scanned.status_code == 200
    assert scanned.json()["sku"] == "TS-1-M"
    assert scanned.json()["product"]["name"] == "Oxford Shirt"
    by_sku = await api.as_("kiosk").get("/v1/variants/TS-1-L")
    assert by_sku.json()["attributes"] == {"fit": "slim"}


async def test_storefront_may_not_create_and_nothing_is_written(api: Api, db: AsyncSession) -> None:
    response = await api.as_("storefront").post("/v1/products", json=product_body())
    assert_problem(response, 403, "forbidden")
    assert_problem(await api.as_("pos").post("/v1/categories", json={"code": "x", "name": "X"}), 403, "forbidden")
    assert_problem(await api.as_(None).post("/v1/products", json=product_body()), 401, "unauthorized")
    assert await count(db, Product) == 0


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"colour": "red"}, 400, "validation_error"),  # unknown field
        ({"returnable": "yes"}, 400, "validation_error"),  # wrong type
        ({"name": "x" * 201}, 400, "validation_error"),  # overlong
        ({"code": "has space"}, 400, "validation_error"),
        ({"not_sold_in": ["fax"]}, 400, "validation_error"),
        ({"variants": [{"sku": "A", "weight_grams": -1}]}, 400, "validation_error"),
        ({"variants": [{"sku": "A", "barcode": "4006381333932"}]}, 422, "invalid_barcode"),
        ({"variants": [{"sku": "A", "barcode": "12345"}]}, 422, "invalid_barcode"),
        ({"variants": [{"sku": "A"}, {"sku": "A"}]}, 422, "duplicate_in_request"),
        ({"variants": [{"sku": "a/b"}]}, 400, "validation_error"),
        ({"category": "nope"}, 422, "unknown_category"),
    ],
)
async def test_bad_input_is_a_problem_and_writes_nothing(
    api: Api, db: AsyncSession, change: dict[str, Any], status: int, code: str
) -> None:
    response = await api.as_("merchandiser").post("/v1/products", json={**product_body(), **change})
    assert_problem(response, status, code)
    assert (await count(db, Product), await count(db, Variant)) == (0, 0)


async def test_wrong_body_type_is_a_problem(api: Api) -> None:
    response = await api.as_("merchandiser").post(
        "/v1/products", content=b"[1,2]", headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "validation_error")


async def test_duplicates_are_409_with_stable_codes(api: Api, db: AsyncSession) -> None:
    merch = api.as_("merchandiser")
    assert (await merch.post("/v1/products", json=product_body("TS-1"))).status_code == 201
    assert_problem(await merch.post("/v1/products", json=product_body("TS-1")), 409, "product_code_taken")
    same_sku = product_body("TS-2", variants=[{"sku": "TS-1-M"}])
    assert_problem(await merch.post("/v1/products", json=same_sku), 409, "sku_taken")
    same_barcode = product_body("TS-3", variants=[{"sku": "TS-3-M", "barcode": "0" + ean13(1)}])
    body = assert_problem(await merch.post("/v1/products", json=same_barcode), 409, "barcode_taken")
    assert body["extra"] == {"barcode": "0" + ean13(1), "sku": "TS-1-M"}
    assert (await count(db, Product), await count(db, Variant)) == (1, 2)


async def test_create_is_idempotent(api: Api, db: AsyncSession) -> None:
    merch = api.as_("merchandiser")
    headers = {"Idempotency-Key": "import-42"}
    first = await merch.post("/v1/products", json=product_body(), headers=headers)
    again = await merch.post("/v1/products", json=product_body(), headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    other = await merch.post("/v1/products", json=product_body("OTHER"), headers=headers)
    assert_problem(other, 422, "idempotency_key_reused")
    assert await count(db, Product) == 1


async def test_patch_changes_only_what_is_sent_and_adds_variants(api: Api) -> None:
    merch = api.as_("merchandiser")
    product = (await merch.post("/v1/products", json=product_body(description="Long text"))).json()
    response = await merch.patch(
        f"/v1/products/{product['id']}",
        json={
            "name": "Oxford Shirt II",
            "brand": None,
            "not_sold_in": ["kiosk"],
            "variants": [{"sku": "TS-1-M", "color": "white"}, {"sku": "TS-1-XL", "size": "XL", "barcode": ean13(2)}],
        },
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["name"], changed["brand"], changed["description"]) == ("Oxford Shirt II", None, "Long text")
    assert changed["not_sold_in"] == ["kiosk"]
    assert [(v["sku"], v["size"], v["color"], v["barcode"]) for v in changed["variants"]] == [
        ("TS-1-L", "L", "blue", None),
        ("TS-1-M", "M", "white", ean13(1)),
        ("TS-1-XL", "XL", None, ean13(2)),
    ]
    assert (await api.as_("pos").get(f"/v1/products/{product['id']}")).json() == changed


async def test_patch_refusals(api: Api, db: AsyncSession) -> None:
    merch = api.as_("merchandiser")
    first = (await merch.post("/v1/products", json=product_body("A"))).json()
    second = (await merch.post("/v1/products", json=product_body("B", variants=[{"sku": "B-1"}]))).json()
    url = f"/v1/products/{second['id']}"
    assert_problem(await merch.patch(url, json={"variants": [{"sku": "A-M"}]}), 409, "sku_taken")
    taken = {"variants": [{"sku": "B-1", "barcode": ean13(1)}]}
    assert_problem(await merch.patch(url, json=taken), 409, "barcode_taken")
    assert_problem(await merch.patch(url, json={"name": ""}), 400, "validation_error")
    assert_problem(await merch.patch(url, json={"code": "C"}), 400, "validation_error")  # code is not editable
    assert_problem(await api.as_("storefront").patch(url, json={"name": "x"}), 403, "forbidden")
    unknown = "/v1/products/00000000-0000-0000-0000-000000000000"
    assert_problem(await merch.patch(unknown, json={"name": "x"}), 404, "unknown_product")
    assert_problem(await merch.get(unknown), 404, "unknown_product")
    assert_problem(await merch.get("/v1/products/not-a-uuid"), 400, "validation_error")  # names product_id
    unchanged = (await merch.get(url)).json()
    assert (unchanged["name"], [v["barcode"] for v in unchanged["variants"]]) == ("Oxford Shirt", [None])
    assert first["code"] == "A"


async def test_variant_lookup_problems(api: Api) -> None:
    pos = api.as_("pos")
    assert_problem(await pos.get("/v1/variants/NOPE"), 404, "unknown_sku")
    assert_problem(await pos.get("/v1/variants", params={"barcode": ean13(77)}), 404, "unknown_barcode")
    assert_problem(await pos.get("/v1/variants", params={"barcode": "4006381333932"}), 422, "invalid_barcode")
    assert_problem(await pos.get("/v1/variants"), 400, "validation_error")


async def test_categories_form_a_tree(api: Api) -> None:
    merch = api.as_("merchandiser")
    for code, parent in [("apparel", None), ("tops", "apparel"), ("shirts", "tops"), ("home", None)]:
        response = await merch.post("/v1/categories", json={"code": code, "name": code.title(), "parent": parent})
        assert response.status_code == 201, response.text
    assert_problem(await merch.post("/v1/categories", json={"code": "tops", "name": "T"}), 409, "category_code_taken")
    orphan = {"code": "x", "name": "X", "parent": "nope"}
    assert_problem(await merch.post("/v1/categories", json=orphan), 422, "unknown_category")
    listed = (await api.as_("storefront").get("/v1/categories")).json()
    assert [(c["path"], c["parent"]) for c in listed["items"]] == [
        ("apparel", None),
        ("apparel/tops", "apparel"),
        ("apparel/tops/shirts", "tops"),
        ("home", None),
    ]
    subtree = (await api.as_("pos").get("/v1/categories", params={"under": "tops", "limit": 1})).json()
    assert [c["code"] for c in subtree["items"]] == ["tops"]
    rest = await api.as_("pos").get("/v1/categories", params={"under": "tops", "cursor": subtree["next_cursor"]})
    assert [c["code"] for c in rest.json()["items"]] == ["shirts"]
    assert rest.json()["next_cursor"] is None


async def test_pagination_walks_every_product_once(api: Api, db: AsyncSession) -> None:
    products = [ProductFactory() for _ in range(23)]
    await persist(db, *products, *(VariantFactory(product=p) for p in products))
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 10, **({"cursor": cursor} if cursor else {})}
        page = (await api.as_("storefront").get("/v1/products", params=params)).json()
        seen += [p["code"] for p in page["items"]]
        assert all(len(p["variants"]) == 1 for p in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3
    assert sorted(seen) == sorted(p.code for p in products)
    assert len(set(seen)) == 23


async def test_list_filters(api: Api, db: AsyncSession) -> None:
    apparel = CategoryFactory(code="apparel")
    tops = CategoryFactory(code="tops", parent=apparel)
    shirt = ProductFactory(name="Blue Oxford Shirt", category=tops)
    coat = ProductFactory(name="Rain Coat", category=apparel, not_sold_in=["web"])
    mug = ProductFactory(name="Blue Mug")
    await persist(db, apparel, tops, shirt, coat, mug)

    async def codes(role: str, **params: str) -> list[str]:
        response = await api.as_(role).get("/v1/products", params=params)
        assert response.status_code == 200, response.text
        return [p["code"] for p in response.json()["items"]]

    assert await codes("merchandiser", category="apparel") == [shirt.code, coat.code]
    assert await codes("merchandiser", category="tops") == [shirt.code]
    assert await codes("merchandiser", q="blue") == [shirt.code, mug.code]
    assert await codes("merchandiser", q="oxf") == [shirt.code]
    # A web key sees only what the web sells; a POS key sees the coat.
    assert await codes("storefront", category="apparel") == [shirt.code]
    assert await codes("pos", category="apparel") == [shirt.code, coat.code]
    assert await codes("merchandiser", channel="web") == [shirt.code, mug.code]


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "garbage!"},
        {"cursor": "WzFd"},
        {"limit": "0"},
        {"limit": "500"},
        {"q": "x" * 201},
        {"channel": "fax"},
    ],
)
async def test_bad_list_parameters_are_400(api: Api, params: dict[str, str]) -> None:
    response = await api.as_("admin").get("/v1/products", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] in {"invalid_cursor", "validation_error"}


async def test_nothing_left_behind_by_refused_category(api: Api, db: AsyncSession) -> None:
    too_deep_parent = None
    merch = api.as_("merchandiser")
    for depth in range(8):
        code = f"level{depth}"
        body = {"code": code, "name": code, **({"parent": too_deep_parent} if too_deep_parent else {})}
        assert (await merch.post("/v1/categories", json=body)).status_code == 201
        too_deep_parent = code
    response = await merch.post("/v1/categories", json={"code": "level8", "name": "x", "parent": "level7"})
    assert_problem(response, 422, "category_too_deep")
    assert await count(db, Category) == 8


async def test_racing_creates_of_one_sku_give_one_product_and_clean_409s(committed_api: Api) -> None:
    merch = committed_api.as_("merchandiser")
    bodies = [product_body(f"RACE-{i}", variants=[{"sku": "RACE-SKU", "barcode": ean13(9)}]) for i in range(12)]
    responses = await asyncio.gather(*(merch.post("/v1/products", json=b) for b in bodies))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 11, [r.text for r in responses if r.status_code not in (201, 409)]
    assert {r.json()["code"] for r in responses if r.status_code == 409} <= {"sku_taken", "barcode_taken"}
    listed = (await merch.get("/v1/products")).json()["items"]
    assert len(listed) == 1
