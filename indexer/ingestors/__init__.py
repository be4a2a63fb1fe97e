"""Ingestors, one per family of formats; `indexer.registry` maps a probe of a file to one of them."""
