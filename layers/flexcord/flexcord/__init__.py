"""Flexcord: customer service inside Discord, backed by Twilio Flex.

The package keeps the domain (``cases``, later sessions and the knowledge base) apart from the
adapters that talk to other services (``adapters.discord``, ``adapters.storage``,
``adapters.queue``). ``interactions`` and ``jobs`` are the two entry points the Lambda handlers
call into.
"""
