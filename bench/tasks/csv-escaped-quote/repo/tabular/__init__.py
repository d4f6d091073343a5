"""CSV without surprises: RFC 4180 quoting, typed columns, round trips."""
