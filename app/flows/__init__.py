"""Use cases that span domains, one file each — the application layer above the domains.

    controllers · jobs · console · cli           entry points: parse, authorize, call one flow
                     │                            (or one domain service)
                     ▼
    app/flows/  place_order · cancel_order · fulfillment_progress (ship, deliver, collect,
                reject, pick-list confirm, expiries) · return_and_refund · exchange ·
                customer_merge (+ the contact-center view) · earn_points · quote ·
                integrity (`oms check`: open orders whose reservation is gone) ·
                reads across domains: customer_view (the contact center's one view) ·
                customer_search · order_tracking (shipments for the shopper) ·
                variant_offer (variant + price in force) · endless_aisle (kiosk)
                     │  plain calls to domain services
                     ▼
    orders (+ returns) · fulfillment · loyalty · integration
                     ▼
    pricing · inventory · customers
                     ▼
    catalog
                     ▼
    core (settings, db, money, errors, auth, outbox, clock …)

Each flow states, in its module docstring and in its code, its transaction boundary (whose
transaction it runs in, where it commits), its lock order — the order row(s) → the
fulfillment orders → the stock rows in (SKU, location) order — and its compensation (the
place-order flow voids the authorized cards when the write fails). A domain service never
calls sideways or up: when two domains need each other, the flow above them calls both, and
data a lower step produces for the other domain is returned, not called back (fulfillment's
`OrderNews`). Reactions that may come late (points on delivery, webhooks) are outbox
consumers. `lint-imports` (pyproject.toml) keeps it so.
"""
