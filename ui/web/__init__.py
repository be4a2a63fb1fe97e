"""The web application: pages for search, review and bundles, served beside the JSON API."""
