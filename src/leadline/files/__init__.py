"""Files: bytes kept in the database (name, sniffed type, size, SHA-256) on a prospect or a customer."""
