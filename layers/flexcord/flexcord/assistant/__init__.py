"""The knowledge-base assistant: answers a member from the help centre before an agent does,
and decides when the chat should go to a human."""
