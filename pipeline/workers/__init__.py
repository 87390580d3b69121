"""The worker processes that parse feeds and extract pages off the reactor thread, and the C
heap of newsmon's processes."""
