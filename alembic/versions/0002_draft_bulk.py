"""result_drafts.bulk: an answer filled by 全部「未发现问题」 / 其余全部, shown as such until it is submitted

Revision ID: 0002
Revises: 0001
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0002'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    # server_default: drafts saved before this revision were all answered one by one
    with op.batch_alter_table('result_drafts') as batch:
        batch.add_column(sa.Column('bulk', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('result_drafts') as batch:
        batch.drop_column('bulk')
