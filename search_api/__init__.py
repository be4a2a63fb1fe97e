"""The search API: queries, requests, review, redaction and the exports built from them."""
