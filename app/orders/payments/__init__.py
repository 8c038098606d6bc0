"""Card payments: the provider interface, the registry of providers, the built-in `test` gateway.

Real gateways are plugins: a package exposes a factory under the entry-point group
`oms.payment_providers` (`name = "package.module:factory"`), the factory takes the
service's sessionmaker and returns a `PaymentProvider`.
"""
