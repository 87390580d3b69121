"""Revisits of stored articles: edits kept as versions, take-downs flagged (docs/revisions.md)."""
