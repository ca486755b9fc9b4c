"""Payments: money received from customers, allocated to their invoices.

- ``model``: the payment, its allocations, what the API takes and lists.
- ``allocation``: how an amount is spread over open invoices and their suppliers.
- ``service``: recording a payment (offline today; the providers' webhooks next), reading
  them, and a customer's balance.
- ``refunds``: returning a payment's money through the API, with or without credit notes.
The ledger postings of a payment are in ``billing.ledger`` with the others.
"""
