"""newsmon's datasette plugin (registered as the ``datasette`` entry point ``newsmon``).

The hooks live in ``pipeline.datasette.hooks``; they are imported here so that datasette finds
them on this package, together with its ``templates/`` and ``static/`` folders.
"""

from pipeline.datasette.hooks import (
    asgi_wrapper,
    extra_css_urls,
    extra_template_vars,
    prepare_connection,
    register_output_renderer,
    register_routes,
    render_cell,
)

__all__ = [
    "asgi_wrapper",
    "extra_css_urls",
    "extra_template_vars",
    "prepare_connection",
    "register_output_renderer",
    "register_routes",
    "render_cell",
]
