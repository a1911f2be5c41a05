"""Users, roles, log-in sessions, API tokens and patients' one-time links."""
