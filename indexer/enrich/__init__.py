"""Enrichers: steps the pipeline runs over a run's items once they are stored (email threads).

Each `enrich(services, item_ids)` takes the ids of the items a run stored, as a stream (a large
import's ids are not held in a list), and returns the ids whose index entries must be refreshed
(what it changed that the index holds).
"""

ENRICHERS = ["indexer.enrich.email_threads"]
