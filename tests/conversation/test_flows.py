"""One guided flow at a time: starting a flow ends the user's other open flow, so typed answers go to the flow
the user is in (SPEC §6: text where a code is expected must never be taken as something else)."""

from __future__ import annotations

from sqlalchemy import select

from bot.services import draws
from bot.config import config_from_dict
from models import Assignment, Campaign, Person, ResultDraft
from tests.drawsetup import prepare


def _inspector_who_leads(sessions) -> Person:
    cid = prepare(sessions)
    with sessions.begin() as s:
        draws.perform_draw(s, s.get(Campaign, cid), cfg=config_from_dict({}), person_id=None, actor="test")
        person = s.scalars(select(Assignment).order_by(Assignment.id)).first().person
        person.roles = "inspector,leader"
        return person


async def test_text_after_starting_new_goes_to_new_not_to_the_open_entry(chat, sessions):
    person = _inspector_who_leads(sessions)
    await chat.as_user(person.telegram_user_id).send("/enter")
    targets = [text for c in chat.replies() for text, data in c.buttons() if data.startswith("ent:t:")]
    if targets:
        await chat.press(targets[0])
    await chat.press("5 ")  # a problem code: /enter now waits for a typed description
    assert "描述" in chat.last_text() or "说明" in chat.last_text() or "问题" in chat.last_text()
    await chat.send("/new")
    await chat.send("2026年第二次联合抽查")  # the campaign title, not the entry note
    with sessions.begin() as s:
        drafts = s.scalars(select(ResultDraft).where(ResultDraft.person_id == person.id)).all()
    assert [d.code for d in drafts] == [5] and drafts[0].note is None
    assert "2026年第二次联合抽查" in " ".join(chat.texts())  # /new took it and moved on
    # /enter resumes the entry where it was: the description is still asked for
    await chat.send("/enter")
    await chat.send("未悬挂禁入标志，已责令改正")
    with sessions.begin() as s:
        assert s.scalar(select(ResultDraft.note).where(ResultDraft.person_id == person.id)) == "未悬挂禁入标志，已责令改正"
