"""A minimal 钉钉 on 127.0.0.1 for the client's tests (real sockets: an http.server thread + a websockets server),
until the shared emulator (bot/devtools/dingtalk_emulator.py) lands. It answers as WIRE.md says and records
every request; tests script failures per path."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import serve


class Loopback:
    def __init__(self, client_id: str = "appkey", client_secret: str = "secret", expire_in: int = 7200) -> None:
        self.client_id, self.client_secret, self.expire_in = client_id, client_secret, expire_in
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.failures: dict[str, list[tuple[int, dict]]] = defaultdict(list)
        self.delays: dict[str, float] = {}
        self.answers: dict[str, dict] = {}  # path → extra JSON fields merged into the success answer
        self.tokens: list[str] = []
        self.valid_tokens: set[str] = set()
        self.files: dict[str, bytes] = {}
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self.tickets: list[str] = []
        self.used_tickets: set[str] = set()
        self.sockets: list = []
        self.received: asyncio.Queue = asyncio.Queue()  # (socket index, parsed frame) the client sent
        self.closed_sockets = 0

    # --- lifecycle ----------------------------------------------------------------------------------------------

    async def __aenter__(self) -> "Loopback":
        self.loop = asyncio.get_running_loop()
        self.ws_server = await serve(self._ws, "127.0.0.1", 0)
        self.ws_port = self.ws_server.sockets[0].getsockname()[1]
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                outer._http(self, "GET")

            def do_POST(self):
                outer._http(self, "POST")

            def do_PUT(self):
                outer._http(self, "PUT")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()
        return self

    async def __aexit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.ws_server.close()
        await self.ws_server.wait_closed()

    # --- scripting ----------------------------------------------------------------------------------------------

    def fail(self, path: str, status: int, body: dict | None = None, times: int = 1) -> None:
        with self.lock:
            self.failures[path] += [(status, body or {})] * times

    def expire_tokens(self) -> None:
        with self.lock:
            self.valid_tokens.clear()

    def calls(self, path: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    # --- HTTP ---------------------------------------------------------------------------------------------------

    def _http(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(h.path)
        raw = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        record = {"method": method, "path": parts.path, "query": parse_qs(parts.query),
                  "headers": {k.lower(): v for k, v in h.headers.items()}, "raw": raw, "json": None}
        if "json" in (h.headers.get("Content-Type") or "") and raw:
            record["json"] = json.loads(raw)
        with self.lock:
            self.requests.append(record)
            delay = self.delays.get(parts.path, 0)
            failure = self.failures[parts.path].pop(0) if self.failures[parts.path] else None
        if delay:
            time.sleep(delay)
        if failure is not None:
            return self._reply(h, *failure)
        status, body = self._route(method, parts.path, record)
        if isinstance(body, bytes):
            h.send_response(status)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
            return
        self._reply(h, status, body)

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json;charset=utf-8")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _route(self, method: str, path: str, r: dict):
        if path == "/v1.0/oauth2/accessToken":
            if r["json"] != {"appKey": self.client_id, "appSecret": self.client_secret}:
                return 400, {"code": "invalidClientIdOrSecret", "message": "bad secret"}
            token = f"token-{len(self.tokens) + 1}"
            with self.lock:
                self.tokens.append(token)
                self.valid_tokens.add(token)
            return 200, {"accessToken": token, "expireIn": self.expire_in}
        if path == "/v1.0/gateway/connections/open":
            ticket = uuid.uuid4().hex
            with self.lock:
                self.tickets.append(ticket)
            return 200, {"endpoint": f"ws://127.0.0.1:{self.ws_port}/connect", "ticket": ticket}
        if path.startswith("/files/"):
            return 200, self.files[path[len("/files/"):]]
        token = r["headers"].get("x-acs-dingtalk-access-token") or (r["query"].get("access_token") or [""])[0]
        with self.lock:
            valid = token in self.valid_tokens
        if not valid:
            if path == "/media/upload":
                return 200, {"errcode": 40014, "errmsg": "不合法的access_token"}
            return 401, {"code": "InvalidAuthentication", "message": "token expired", "requestid": "r"}
        extra = self.answers.get(path, {})
        if path == "/v1.0/robot/oToMessages/batchSend":
            return 200, {"processQueryKey": f"pqk-{len(self.requests)}", "invalidStaffIdList": [],
                         "flowControlledStaffIdList": [], **extra}
        if path == "/v1.0/robot/groupMessages/send":
            return 200, {"processQueryKey": f"pqk-{len(self.requests)}", **extra}
        if path == "/v1.0/card/instances/createAndDeliver":
            return 200, {"success": True, "result": {"outTrackId": r["json"]["outTrackId"]}, **extra}
        if path == "/v1.0/card/instances" and method == "PUT":
            return 200, {"success": True, **extra}
        if path == "/v1.0/robot/messageFiles/download":
            code = r["json"]["downloadCode"]
            return 200, {"downloadUrl": f"{self.url}/files/{code}"}
        if path == "/media/upload":
            body = r["raw"]
            head, _, rest = body.partition(b'name="media"')
            filename = rest.split(b'filename="', 1)[1].split(b'"', 1)[0].decode()
            content = rest.split(b"\r\n\r\n", 1)[1].rsplit(b"\r\n--", 1)[0]
            media_id = f"@media{len(self.uploads) + 1}"
            with self.lock:
                self.uploads[media_id] = (filename, content)
            return 200, {"errcode": 0, "errmsg": "ok", "type": "file", "media_id": media_id}
        return 404, {"code": "notFound", "message": path}

    # --- stream -------------------------------------------------------------------------------------------------

    async def _ws(self, ws) -> None:
        ticket = parse_qs(urlsplit(ws.request.path).query).get("ticket", [""])[0]
        with self.lock:
            ok = ticket in self.tickets and ticket not in self.used_tickets
            self.used_tickets.add(ticket)
        if not ok:
            await ws.close(4001, "bad ticket")
            return
        index = len(self.sockets)
        self.sockets.append(ws)
        try:
            async for raw in ws:
                await self.received.put((index, json.loads(raw)))
        except Exception:
            pass
        finally:
            self.closed_sockets += 1

    async def wait_sockets(self, n: int, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.sockets) < n:
            assert time.monotonic() < deadline, f"only {len(self.sockets)} connections, wanted {n}"
            await asyncio.sleep(0.01)

    async def push(self, frame: dict, socket: int = -1) -> None:
        await self.sockets[socket].send(json.dumps(frame, ensure_ascii=False))

    async def next_ack(self, timeout: float = 3.0) -> tuple[int, dict]:
        return await asyncio.wait_for(self.received.get(), timeout)


def callback_frame(topic: str, data: dict, message_id: str | None = None) -> dict:
    return {"specVersion": "1.0", "type": "CALLBACK",
            "headers": {"appId": "a", "contentType": "application/json", "messageId": message_id or uuid.uuid4().hex,
                        "time": str(int(time.time() * 1000)), "topic": topic},
            "data": json.dumps(data, ensure_ascii=False)}
