"""newsmon: news feeds → clean article text → one SQLite database, browsed with datasette."""

__version__ = "0.1.0"
