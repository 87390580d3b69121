"""The SQLite database: opening it, its migrations, the crawl lock, and export."""
