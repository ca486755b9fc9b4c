"""The customer portal's core: what each page of ``/portal`` shows a customer, and what its
forms do, computed by the services the API uses (``billing.adapters.services``), never by a
second copy of their rules.

A portal session names one customer in one scope (tenant and mode); every method here takes
them from the session and checks that any invoice or payment named in an address is that
customer's (a 404 otherwise, the same as for an id that does not exist), so no address reaches
another customer's, tenant's or mode's data. Drafts are not shown: a customer sees an invoice
once it is finalized.

- ``service.Portal``: the overview, invoices (PDF, pay through the hosted checkout),
  payments, the plan and its change (previewed first), preferences.
- ``usage``: usage per meter and day (with ``charts``) and the period's estimated cost.
- ``readings``: meter readings, submitted through the API's own model and service.
- ``forms``: a posted form read through an API input model, its errors by field.
"""
