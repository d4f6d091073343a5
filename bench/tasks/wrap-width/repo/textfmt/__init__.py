"""Plain-text formatting for terminals and e-mails."""
