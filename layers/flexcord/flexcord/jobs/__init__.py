"""Jobs: the slow work the interactions endpoint hands to the worker through the FIFO queue."""
