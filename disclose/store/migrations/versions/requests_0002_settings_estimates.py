"""request settings and s12 cost estimates

Revision ID: requests_0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
import disclose.store.base


revision = "requests_0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_settings",
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("central_government", sa.Boolean(), nullable=False),
        sa.Column("s12_minutes", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("request_id"),
    )
    op.create_table(
        "cost_estimates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("author", sa.Text(), nullable=False),
        sa.Column("at", disclose.store.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column("estimate", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["request_id"], ["requests.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_cost_estimates_request_id", "cost_estimates", ["request_id"])


def downgrade() -> None:
    op.drop_index("ix_cost_estimates_request_id", table_name="cost_estimates")
    op.drop_table("cost_estimates")
    op.drop_table("request_settings")
