"""Text processing: tokens, fingerprints for dedup, stemming for search, language detection."""
