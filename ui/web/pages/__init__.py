"""The server-rendered pages, one router per journey (requests, search, documents, review, bundle, ingest)."""
