"""The 钉钉 open-API calls the adapter needs, on one shared `httpx.AsyncClient` (tests/fixtures/dingtalk/WIRE.md).

Every failure is one of `bot.runtime.platform.base`'s `MessengerError`s, mapped as WIRE.md's error table says; a
timeout or a dropped connection is `Transient`. The access token is cached and refreshed a little before it
expires (one refresh at a time); a 401 refreshes it once and retries the call once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from typing import Any, Iterable, Iterator, Sequence

import httpx

from bot.runtime.platform.base import (
    Chat, Keyboard, MessengerError, RateLimited, Rejected, TooLarge, Transient, Unreachable,
)

log = logging.getLogger(__name__)

MAX_FILE_BYTES = 20 * 1024 * 1024  # media/upload, type=file (media_upload.json)
BATCH_SEND_MAX = 20  # batchSend userIds (robot_batch_send.json)
TOPIC_BOT_MESSAGE = "/v1.0/im/bot/messages/get"
TOPIC_CARD_CALLBACK = "/v1.0/card/instances/callback"
USER_AGENT = "dingtalk-stream-bot/1.0 (python; httpx; websockets)"

QPS_RETRY_AFTER = 1.0
QUOTA_RETRY_AFTER = 3600.0
_LEGACY_TOKEN_ERRCODES = {40014, 42001}  # invalid / expired access_token (legacy oapi)


def chunks(items: Sequence[str], size: int = BATCH_SEND_MAX) -> Iterator[list[str]]:
    """`items` in lists of at most `size` (batchSend takes ≤ 20 userIds a call), order kept."""
    if size < 1:
        raise ValueError("size must be ≥ 1")
    for start in range(0, len(items), size):
        yield list(items[start:start + size])


def buttons_json(keyboard: Keyboard | None) -> str:
    """The card template's `buttons` variable: rows of {"text","data"} as a JSON string ("[]" = no buttons)."""
    rows = [[{"text": b.text, "data": b.data} for b in row] for row in (keyboard or ())]
    return json.dumps([row for row in rows if row], ensure_ascii=False)


def _file_type(filename: str) -> str:
    _, dot, ext = filename.rpartition(".")
    return ext.lower() if dot and ext else "file"


def _describe(response: httpx.Response, body: Any) -> str:
    if isinstance(body, dict):
        code = body.get("code") or body.get("errcode")
        message = body.get("message") or body.get("errmsg") or ""
        if code is not None:
            return f"HTTP {response.status_code} {code}: {message}".strip()
    return f"HTTP {response.status_code}: {response.text[:200]}"


def error_for(response: httpx.Response, body: Any) -> MessengerError:
    """The exception for a new-style (api.dingtalk.com) error answer (WIRE.md "Error bodies"); not for 401."""
    status = response.status_code
    code = str(body.get("code", "")) if isinstance(body, dict) else ""
    description = _describe(response, body)
    if code == "Forbidden.AccessDenied.ApiCountLimitForOrg":
        return RateLimited(description, retry_after=QUOTA_RETRY_AFTER)
    if status == 429 or code == "Forbidden.AccessDenied.QpsLimitForApi" or code.startswith("Throttling"):
        retry_after = QPS_RETRY_AFTER
        try:
            retry_after = max(retry_after, float(response.headers.get("Retry-After", 0)))
        except ValueError:
            pass
        return RateLimited(description, retry_after=retry_after)
    if status >= 500:
        return Transient(description)
    if code.startswith("invalidParameter.openConversationId"):
        return Unreachable(description)
    return Rejected(description)


def legacy_error_for(errcode: int, description: str) -> MessengerError:
    """The exception for a legacy oapi `{"errcode","errmsg"}` answer (api_errors.json)."""
    if errcode in (15, 88):
        return Transient(description)
    if errcode == 90002:
        return RateLimited(description, retry_after=QPS_RETRY_AFTER)
    if errcode == 90020:
        return RateLimited(description, retry_after=QUOTA_RETRY_AFTER)
    if errcode == 40004:
        return TooLarge(description, limit=MAX_FILE_BYTES)
    return Rejected(description)


class DingTalkClient:
    def __init__(self, client_id: str, client_secret: str, robot_code: str | None = None,
                 openapi_endpoint: str = "https://api.dingtalk.com",
                 oapi_endpoint: str = "https://oapi.dingtalk.com", timeout: float = 10.0,
                 http: httpx.AsyncClient | None = None, *, card_template_id: str = "",
                 token_refresh_margin: float = 300.0) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.robot_code = robot_code or client_id  # an internal app's bot: robotCode = the app's clientId
        self.card_template_id = card_template_id
        self.openapi = openapi_endpoint.rstrip("/")
        self.oapi = oapi_endpoint.rstrip("/")
        self.token_refresh_margin = token_refresh_margin
        self._owns_http = http is None
        self._http = http or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            headers={"User-Agent": USER_AGENT})
        self._token: str | None = None
        self._token_expires = 0.0  # time.monotonic() after which the cached token is refreshed
        self._token_lock = asyncio.Lock()
        self.token_fetches = 0  # how many times a token was fetched (for tests and logs)

    # --- plumbing -----------------------------------------------------------------------------------------------

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, url, **kwargs)
        except httpx.TimeoutException as e:
            raise Transient(f"{method} {url.split('?')[0]}: timeout ({type(e).__name__})") from e
        except httpx.TransportError as e:
            raise Transient(f"{method} {url.split('?')[0]}: {type(e).__name__}: {e}") from e

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            return None

    async def access_token(self) -> str:
        """The cached token, fetched when missing or close to expiry (only one fetch at a time)."""
        if self._token and time.monotonic() < self._token_expires:
            return self._token
        async with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            return await self._fetch_token()

    async def _fetch_token(self) -> str:
        response = await self._send("POST", f"{self.openapi}/v1.0/oauth2/accessToken",
                                    json={"appKey": self.client_id, "appSecret": self.client_secret})
        body = self._json(response)
        if response.status_code != 200 or not isinstance(body, dict) or not body.get("accessToken"):
            if 400 <= response.status_code < 500:  # a wrong secret (no documented body) or a rate limit
                error = error_for(response, body)
                raise error if isinstance(error, RateLimited) else Rejected(
                    f"access token refused: {_describe(response, body)}")
            raise Transient(f"access token: {_describe(response, body)}")
        self.token_fetches += 1
        expire_in = float(body.get("expireIn") or 7200)
        margin = min(self.token_refresh_margin, expire_in / 10)
        self._token = str(body["accessToken"])
        self._token_expires = time.monotonic() + expire_in - margin
        return self._token

    async def _refresh_after_401(self, stale: str) -> str:
        async with self._token_lock:
            if self._token != stale and self._token and time.monotonic() < self._token_expires:
                return self._token  # someone else refreshed meanwhile
            self._token = None
            return await self._fetch_token()

    async def call(self, method: str, path: str, body: dict | None = None) -> dict:
        """A new-style API call (`x-acs-dingtalk-access-token`): the answer's JSON object, or a MessengerError."""
        url = f"{self.openapi}{path}"
        token = await self.access_token()
        for attempt in (1, 2):
            response = await self._send(method, url, json=body, headers={"x-acs-dingtalk-access-token": token})
            answer = self._json(response)
            if response.status_code == 401 and attempt == 1:
                log.info("dingtalk %s %s: 401, refreshing the access token once", method, path)
                token = await self._refresh_after_401(token)
                continue
            if response.status_code == 401:
                raise Transient(f"{path}: still 401 after a token refresh: {_describe(response, answer)}")
            if response.status_code >= 300:
                raise error_for(response, answer)
            if not isinstance(answer, dict):
                raise Transient(f"{path}: answer is not a JSON object: {response.text[:200]}")
            return answer
        raise AssertionError("unreachable")

    # --- robot messages -----------------------------------------------------------------------------------------

    async def batch_send(self, staff_ids: Sequence[str], msg_key: str, msg_param: dict,
                         *, robot_code: str | None = None) -> list[dict]:
        """batchSend to any number of users, ≤ 20 a call; the answers in order. Raises on a failed call only —
        the answers' invalidStaffIdList / flowControlledStaffIdList are the caller's to read."""
        answers = []
        param = json.dumps(msg_param, ensure_ascii=False)
        for part in chunks(list(staff_ids)):
            answers.append(await self.call("POST", "/v1.0/robot/oToMessages/batchSend", {
                "robotCode": robot_code or self.robot_code, "userIds": part, "msgKey": msg_key, "msgParam": param}))
        return answers

    async def _send_private(self, staff_id: str, msg_key: str, msg_param: dict, robot_code: str | None) -> str:
        (answer,) = await self.batch_send([staff_id], msg_key, msg_param, robot_code=robot_code)
        if staff_id in (answer.get("invalidStaffIdList") or ()):
            raise Unreachable(f"batchSend: {staff_id} in invalidStaffIdList (outside the visible range or unknown)")
        if staff_id in (answer.get("flowControlledStaffIdList") or ()):
            raise RateLimited(f"batchSend: {staff_id} in flowControlledStaffIdList", retry_after=QPS_RETRY_AFTER)
        return str(answer.get("processQueryKey") or "")

    async def _send_group(self, conversation_id: str, msg_key: str, msg_param: dict,
                          robot_code: str | None) -> str:
        answer = await self.call("POST", "/v1.0/robot/groupMessages/send", {
            "robotCode": robot_code or self.robot_code, "openConversationId": conversation_id,
            "msgKey": msg_key, "msgParam": json.dumps(msg_param, ensure_ascii=False)})
        return str(answer.get("processQueryKey") or "")

    async def send_private_text(self, staff_id: str, text: str, *, robot_code: str | None = None) -> str:
        """A sampleText to one user; its processQueryKey."""
        return await self._send_private(staff_id, "sampleText", {"content": text}, robot_code)

    async def send_group_text(self, conversation_id: str, text: str, *, robot_code: str | None = None) -> str:
        """A sampleText to a group the robot is in; its processQueryKey."""
        return await self._send_group(conversation_id, "sampleText", {"content": text}, robot_code)

    # --- interactive cards --------------------------------------------------------------------------------------

    async def send_card(self, chat: Chat, content: str, keyboard: Keyboard | None = None, *,
                        robot_code: str | None = None, card_template_id: str | None = None) -> str:
        """createAndDeliver our template (`content`, `buttons`) with presses routed to the stream; the outTrackId."""
        robot = robot_code or self.robot_code
        out_track_id = uuid.uuid4().hex
        body: dict[str, Any] = {
            "cardTemplateId": card_template_id or self.card_template_id,
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": {"content": content, "buttons": buttons_json(keyboard)}},
            "callbackType": "STREAM",
            "imGroupOpenSpaceModel": {"supportForward": True},
            "imRobotOpenSpaceModel": {"supportForward": True},
        }
        if chat.kind == "group":
            body["openSpaceId"] = f"dtv1.card//IM_GROUP.{chat.external_id}"
            body["imGroupOpenDeliverModel"] = {"robotCode": robot}
        else:
            body["openSpaceId"] = f"dtv1.card//IM_ROBOT.{chat.external_id}"
            body["imRobotOpenDeliverModel"] = {"spaceType": "IM_ROBOT", "robotCode": robot}
        answer = await self.call("POST", "/v1.0/card/instances/createAndDeliver", body)
        result = answer.get("result") if isinstance(answer.get("result"), dict) else {}
        if answer.get("success") is False:
            raise Rejected(f"createAndDeliver: {answer.get('message') or answer}")
        deliveries = result.get("deliverResults") or []
        if deliveries and not any(d.get("success", True) for d in deliveries if isinstance(d, dict)):
            raise Unreachable(f"createAndDeliver: not delivered: {deliveries}")
        return str(result.get("outTrackId") or out_track_id)

    async def update_card(self, out_track_id: str, content: str, keyboard: Keyboard | None = None) -> None:
        """Replace a card's text and buttons (no keyboard = no buttons)."""
        answer = await self.call("PUT", "/v1.0/card/instances", {
            "outTrackId": out_track_id,
            "cardData": {"cardParamMap": {"content": content, "buttons": buttons_json(keyboard)}},
            "cardUpdateOptions": {"updateCardDataByKey": True},
        })
        if answer.get("success") is False:
            raise Rejected(f"card update: {answer.get('message') or answer}")

    # --- files --------------------------------------------------------------------------------------------------

    async def upload_file(self, filename: str, data: bytes) -> str:
        """Legacy oapi media/upload (type=file); the media_id. Over 20 MB: TooLarge, nothing sent."""
        if len(data) > MAX_FILE_BYTES:
            raise TooLarge(f"{filename}: {len(data)} bytes is over 钉钉's {MAX_FILE_BYTES} bytes", MAX_FILE_BYTES)
        for attempt in (1, 2):
            token = await self.access_token()
            response = await self._send("POST", f"{self.oapi}/media/upload", params={"access_token": token},
                                        data={"type": "file"},
                                        files={"media": (filename, data, "application/octet-stream")})
            body = self._json(response)
            errcode = body.get("errcode", 0) if isinstance(body, dict) else None
            if (response.status_code == 401 or errcode in _LEGACY_TOKEN_ERRCODES) and attempt == 1:
                await self._refresh_after_401(token)
                continue
            if response.status_code >= 500:
                raise Transient(f"media/upload: {_describe(response, body)}")
            if response.status_code == 429:
                raise RateLimited(f"media/upload: {_describe(response, body)}", retry_after=QPS_RETRY_AFTER)
            if response.status_code == 401:
                raise Transient("media/upload: still 401 after a token refresh")
            if not isinstance(body, dict) or response.status_code >= 300:
                raise Rejected(f"media/upload: {_describe(response, body)}")
            if errcode not in (0, None):
                raise legacy_error_for(int(errcode), f"media/upload: {_describe(response, body)}")
            if not body.get("media_id"):
                raise Transient(f"media/upload: no media_id in {response.text[:200]}")
            return str(body["media_id"])
        raise AssertionError("unreachable")

    async def send_file(self, chat: Chat, media_id: str, filename: str, *, robot_code: str | None = None) -> str:
        """A sampleFile message of an uploaded file; its processQueryKey."""
        param = {"mediaId": media_id, "fileName": filename, "fileType": _file_type(filename)}
        if chat.kind == "group":
            return await self._send_group(chat.external_id, "sampleFile", param, robot_code)
        return await self._send_private(chat.external_id, "sampleFile", param, robot_code)

    async def download(self, download_code: str, *, robot_code: str | None = None) -> bytes:
        """The bytes of a file a user sent: messageFiles/download, then GET the temporary downloadUrl."""
        answer = await self.call("POST", "/v1.0/robot/messageFiles/download",
                                 {"downloadCode": download_code, "robotCode": robot_code or self.robot_code})
        url = answer.get("downloadUrl")
        if not url:
            raise Transient(f"messageFiles/download: no downloadUrl in {answer}")
        response = await self._send("GET", str(url))  # a presigned URL: no token header to a foreign host
        if response.status_code >= 500:
            raise Transient(f"download: HTTP {response.status_code}")
        if response.status_code >= 300:
            raise Rejected(f"download: HTTP {response.status_code}")
        return response.content

    # --- stream -------------------------------------------------------------------------------------------------

    async def open_connection(self, topics: Iterable[str | tuple[str, str]]) -> tuple[str, str]:
        """connections/open: (endpoint, ticket) for one WebSocket connection. A topic is a CALLBACK topic or a
        (type, topic) pair."""
        subscriptions = [{"type": "CALLBACK", "topic": t} if isinstance(t, str) else {"type": t[0], "topic": t[1]}
                         for t in topics]
        response = await self._send("POST", f"{self.openapi}/v1.0/gateway/connections/open", json={
            "clientId": self.client_id, "clientSecret": self.client_secret,
            "subscriptions": subscriptions, "ua": USER_AGENT},
            headers={"Accept": "application/json"})
        body = self._json(response)
        if response.status_code >= 300:
            raise error_for(response, body)
        if not isinstance(body, dict) or not body.get("endpoint") or not body.get("ticket"):
            raise Transient(f"connections/open: unexpected answer {response.text[:200]}")
        return str(body["endpoint"]), str(body["ticket"])
