"""Crawlers: each walks one kind of source and yields what it collects, with where it came from."""
