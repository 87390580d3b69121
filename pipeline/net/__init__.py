"""Network helpers: URL normalisation, which addresses may be connected to, and download
failures as stored statuses."""
