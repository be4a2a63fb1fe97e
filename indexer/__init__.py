"""The indexer: recognises each original, extracts and enriches its items, and writes them to the case store and index."""
