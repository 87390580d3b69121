"""``python -m tests.mockserver --root DIR``: see the package's docstring."""

from tests.mockserver import main

main()
