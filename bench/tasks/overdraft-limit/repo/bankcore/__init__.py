"""Accounts, transfers between them, and statements; amounts in cents."""
