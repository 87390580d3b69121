"""newsmon's spiders."""
