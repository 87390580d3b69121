"""Search: the full-text indexes, the query language, and watchlists."""
