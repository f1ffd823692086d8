"""The Discord interactions endpoint: verify, decide, enqueue, answer, inside Discord's 3 s."""
