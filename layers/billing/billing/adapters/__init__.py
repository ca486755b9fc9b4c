"""Adapters from the core's ports to AWS services. Only this package imports boto3."""
