"""Customer notifications: email (SES) and SMS (SNS) about the events that concern a customer,
from templates per event and locale with the tenant's branding, and a delivery log per
customer (``model``, ``kinds``, ``templates``, ``formatting``, ``service``, ``ports``)."""
