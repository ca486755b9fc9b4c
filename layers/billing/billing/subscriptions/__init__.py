"""Subscriptions: a customer on a plan, through trials, changes, pauses and cancellation."""
