"""Billing core: the whole domain of the billing platform.

Domain modules never import boto3 or chalice. They talk to storage through the
repository protocols they declare; the DynamoDB adapters live in
``billing.adapters.dynamodb``.
"""
