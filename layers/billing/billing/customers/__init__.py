"""Customers: the accounts a tenant bills."""

from billing.customers.model import Customer, CustomerCreate, CustomerQuery, CustomerUpdate
from billing.customers.service import CustomerRepository, CustomerService

__all__ = [
    "Customer",
    "CustomerCreate",
    "CustomerQuery",
    "CustomerRepository",
    "CustomerService",
    "CustomerUpdate",
]
