"""Application services: domain rules applied through the ports (store, publisher, clock)."""
