"""Outbound webhooks: the tenant's own systems (CRM, ERP) told of every domain event, signed.

- ``model``: endpoints and deliveries, and the requests that make and change endpoints;
- ``signing``: the ``Billing-Signature`` header (Stripe's scheme) and its verification;
- ``addresses``: which addresses a delivery may connect to (the SSRF rules);
- ``transport``: the one HTTP POST, pinned to the address that was checked;
- ``retries``: when a failed delivery is tried again, and when it is given up;
- ``service`` (the API's use cases), ``fanout`` (an event -> one delivery per endpoint) and
  ``delivery`` (one attempt of one delivery).
"""
