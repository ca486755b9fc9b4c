"""Collections: chasing what customers owe (dunning), and the one-off invoice items that late
fees and penalty interest are billed through.

- ``invoice_items``: one-off items billed on the customer's next invoice, or on their own.
- ``items``: their use cases (create, list, bill now).
- ``policy``: a tenant's dunning policy per mode (steps by days after due, penalty interest).
- ``interest``: penalty interest accrued day by day, pure.
- ``debt``: what a customer owes as of a date, pure; ``service.Debts`` reads it from the stores.
- ``steps``: which dunning steps are due for an invoice on a date, once each (the plan of the
  daily dunning run, pure; the run itself and its schedule are not built yet).
- ``service``: the policy and debt use cases.
"""
