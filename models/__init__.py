"""The data model for the whole SPEC; importing this package registers every table on Base.metadata."""

from models.base import Base, utcnow
from models.campaign import CAMPAIGN_STATES, Campaign, CampaignDepartment, CampaignItem
from models.directory import ROLE_LABELS_ZH, ROLES, Conflict, Department, Item, Person, Target
from models.draw import Assignment, Draw, DrawGroup, GroupTarget, StaffRequest
from models.identity import Invite, Setting
from models.audit import AuditEntry, ImportRecord
from models.chat_state import ConversationRow, PersistenceEntry, ProcessedUpdate
from models.outbox import OutboxMessage
from models.platform import PlatformEvent, PlatformId, PlatformMessage
from models.result import Correction, FollowUp, Result, ResultDraft, ResultHistory, Submission

__all__ = [
    "Base", "utcnow", "CAMPAIGN_STATES", "Campaign", "CampaignDepartment", "CampaignItem", "ROLE_LABELS_ZH",
    "ROLES", "Conflict", "Department", "Item", "Person", "Target", "Assignment", "Draw", "DrawGroup",
    "GroupTarget", "StaffRequest", "Invite", "Setting", "AuditEntry", "ConversationRow", "ImportRecord",
    "OutboxMessage", "PlatformEvent", "PlatformId", "PlatformMessage", "PersistenceEntry", "ProcessedUpdate", "Correction", "FollowUp", "Result",
    "ResultDraft", "ResultHistory", "Submission",
]
