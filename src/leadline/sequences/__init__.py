"""Follow-up sequences: the first email now, each next step after a delay, until they answer."""
