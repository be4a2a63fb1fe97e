"""Search index backends behind one interface: tantivy (embedded default) and Elasticsearch (scale)."""
