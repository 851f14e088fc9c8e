"""targets: credit_class widened to 32 characters (credit classes are data: 信用风险较高, 中高风险 …), and the
登记机关 / 管辖单位 columns that the platform exports carry (issue 14). Existing values keep their meaning: A–D stay
A–D, which the default scheme still names so; draw records are not touched.

Revision ID: 0004
Revises: 0003
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('targets') as batch:
        batch.alter_column('credit_class', existing_type=sa.String(length=1), type_=sa.String(length=32),
                           existing_nullable=True)
        batch.add_column(sa.Column('registration_authority', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('jurisdiction', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('targets') as batch:
        batch.drop_column('jurisdiction')
        batch.drop_column('registration_authority')
        batch.alter_column('credit_class', existing_type=sa.String(length=32), type_=sa.String(length=1),
                           existing_nullable=True)
