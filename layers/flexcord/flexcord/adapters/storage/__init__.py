"""DynamoDB storage: one table, keys described in adapters/storage/keys.py."""
