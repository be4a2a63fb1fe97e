"""One APIRouter per area; `search_api.app` includes them all."""
