"""The ``newsmon`` command, also run as ``python -m pipeline``."""

from __future__ import annotations


def main() -> None:
    # Imported here: the extraction workers are started with multiprocessing's "spawn", which
    # imports the program's main script again in each of them, and the command line's libraries
    # (Scrapy, sqlite-utils, lxml) would then be loaded into every worker (measurements:
    # docs/performance.md).
    from pipeline.cli import cli

    cli()


if __name__ == "__main__":
    main()
