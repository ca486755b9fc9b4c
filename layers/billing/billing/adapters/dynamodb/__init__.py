"""DynamoDB adapters. The single-table layout is described in ``KEYS.md`` beside this file."""
