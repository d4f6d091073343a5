"""Query helpers behind list endpoints: filter, sort, paginate."""
