"""Adapters: the code that talks to other services (Discord, DynamoDB, SQS)."""
