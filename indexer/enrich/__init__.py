"""Enrichers: steps the pipeline runs over a run's items once they are stored (email threads).

Each returns the ids whose index entries must be refreshed (what it changed that the index holds).
"""

ENRICHERS = ["indexer.enrich.email_threads"]
