"""Settings kept in the database (``stored_settings``) and their audit trail (``settings_changes``)."""
