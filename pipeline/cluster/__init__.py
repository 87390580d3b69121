"""Several machines, one crawl: a shared frontier on Redis, nodes that fetch, one writer.

``frontier.py`` is the Redis side (keys, streams, leases, scripts), ``messages.py`` what goes
over the wire (JSON only), ``coordinator.py`` the writer (``newsmon crawl --redis``) and
``node.py`` the fetching nodes (``newsmon node``). See docs/cluster.md.
"""
