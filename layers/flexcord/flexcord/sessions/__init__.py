"""Support sessions: a member's live support chat, from /helpme to the agent closing it."""
