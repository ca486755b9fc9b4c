"""DynamoDB adapters. ``KEYS.md`` beside this file has one table per entity: its keys, indexes,
item shape and access patterns."""
