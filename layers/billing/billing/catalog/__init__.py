"""The catalog: what a tenant sells (meters, plans, add-ons, coupons, tax rates, suppliers)."""
