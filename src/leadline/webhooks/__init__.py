"""SendGrid's Event Webhook and Inbound Parse: stored raw first, deduplicated, then applied."""
