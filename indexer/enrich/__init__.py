"""Enrichers: steps the pipeline runs over a run's items once they are stored (email threads), each returning the ids it changed."""

ENRICHERS = ["indexer.enrich.email_threads"]
