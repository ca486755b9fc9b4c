"""Invoicing: turning subscriptions and usage into invoices, and invoices into ledger entries."""
