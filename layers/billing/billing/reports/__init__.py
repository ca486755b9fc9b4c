"""Reports: figures a tenant runs its business on (MRR, revenue, plans, usage, aging, debtors),
read from aggregates that a consumer of the domain events keeps (``aggregator.py``), never
from scans of the source records at read time.

- ``buckets.py``: what an aggregate is (a bucket: report, currency, slice, group, date) and a
  source record's contribution to them, with the difference between two contributions;
- ``mrr.py``: a subscription's monthly recurring revenue over its history;
- ``sources.py``: the contribution of each kind of source record (subscription, invoice,
  payment, credit note);
- ``aggregator.py``: one domain event -> the contribution of the record it is about, applied
  once; ``rebuild.py``: every record of a scope again, from scratch;
- ``model.py``: the reports, as frozen dataclasses with ``to_public()``; ``query.py``: what a
  report is asked for; ``service.py``: reading them; ``csv.py``: a report as CSV.
"""
