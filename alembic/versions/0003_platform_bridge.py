"""platform_ids, platform_messages, platform_events: the messenger bridge's tables (SPEC §11, 钉钉)

Revision ID: 0003
Revises: 0002
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

import models.base

revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table('platform_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('update', sa.JSON(), nullable=False),
    sa.Column('received_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_events')),
    sa.UniqueConstraint('platform', 'external_id', name=op.f('uq_platform_events_platform_external_id')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_platform_events_pending', 'platform_events', ['platform', 'confirmed_at', 'id'], unique=False)
    op.create_table('platform_ids',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_ids')),
    sa.UniqueConstraint('platform', 'kind', 'external_id', name=op.f('uq_platform_ids_platform_kind_external_id')),
    sqlite_autoincrement=True
    )
    op.create_table('platform_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('platform', sa.String(length=16), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=True),
    sa.Column('outgoing', sa.Boolean(), nullable=False),
    sa.Column('editable', sa.Boolean(), nullable=False),
    sa.Column('text', sa.Text(), nullable=True),
    sa.Column('markup', sa.JSON(), nullable=True),
    sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_messages')),
    sqlite_autoincrement=True
    )
    op.create_index('ix_platform_messages_platform_ref', 'platform_messages', ['platform', 'ref'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_platform_messages_platform_ref', table_name='platform_messages')
    op.drop_table('platform_messages')
    op.drop_table('platform_ids')
    op.drop_index('ix_platform_events_pending', table_name='platform_events')
    op.drop_table('platform_events')
