"""Prepaid (online) charging: usage rated and debited from a real-time balance as it arrives.

- ``rating``: the price of one event at the moment it arrives (the marginal price of the
  period's running quantity, so that the debits of a period add up to its invoice's lines);
- ``policy``: the tenant's rules (low-balance threshold, what happens at zero) and what one
  debit does to a balance (allowed, refused, which notices it emits);
- ``model``: the balance as the API shows it, the authorization answer, the refusal;
- ``service``: the use cases (charge an event while ingesting it, authorize, read the balance).
"""
