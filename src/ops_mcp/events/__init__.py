"""Back-end events: the webhook receiver (signatures, secrets, registration), the event store, and what
agents see of it (the events feed and its change notifications)."""
