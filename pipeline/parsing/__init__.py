"""Parsing bytes into data: feeds into entries, feed lists, and article pages into text and
metadata, with charset repair."""
