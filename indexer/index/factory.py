"""Choose the index backend a workspace names: tantivy in the folder, or Elasticsearch at a URL."""

from __future__ import annotations

from disclose.workspace import Workspace
from indexer.index.base import SearchIndex


def open_index(workspace: Workspace) -> SearchIndex:
    url = workspace.index_url
    if url.startswith(("http://", "https://")):
        from indexer.index.elastic_backend import ElasticIndex  # the scale backend

        return ElasticIndex(url)
    from indexer.index.tantivy_backend import TantivyIndex

    return TantivyIndex(workspace.index_dir)
