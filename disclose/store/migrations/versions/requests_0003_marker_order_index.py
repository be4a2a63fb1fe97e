"""markers indexed by request, item and id, the order a bundle reads them in

Revision ID: requests_0003
Revises: requests_0002
"""
from alembic import op


revision = "requests_0003"
down_revision = "requests_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_markers_request_item", "markers", ["request_id", "item_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_markers_request_item", table_name="markers")
