"""The 钉钉 (DingTalk) messenger adapter: our own asyncio client on httpx + websockets (tests/fixtures/dingtalk/README.md
explains why not the dingtalk-stream SDK; WIRE.md is the wire contract)."""
