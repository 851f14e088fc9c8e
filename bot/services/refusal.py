"""The one refusal: a service says "no" with a text key of the catalog and its parameters, having changed nothing
(the caller rolls back). Handlers answer `exc.text(lang)` to the user; the kinds of refusal (entry, corrections,
staff changes, campaigns, publication) are subclasses only so that callers can catch one flow's refusals."""

from __future__ import annotations

from typing import Any

from bot.texts import t


class Refusal(Exception):
    """A refusal with a text key and its parameters; nothing was changed."""

    def __init__(self, key: str, **params: Any):
        super().__init__(key)
        self.key = key
        self.params = params

    def text(self, lang: str) -> str:
        return t(self.key, lang, **self.params)
