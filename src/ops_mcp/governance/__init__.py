"""A person's yes before sensitive writes: confirmation, pending approvals, sealed request state, summaries."""
