#!/usr/bin/env python3
"""The official Python MCP SDK's client (mcp==2.3.0) over streamable HTTP, for the
proxy's end-to-end tests: a real peer nobody here wrote.

usage: http_client.py URL legacy|auto

`legacy` initializes (2025-11-25, a session); `auto` discovers the server (2026-07-28,
no session). Lists the tools and calls each of `server.py`'s (one call with arguments
the schema refuses, one whose question is answered yes), each call with a fixed
traceparent in `_meta` (under `auto`, not the one that asks a question: the SDK's
server has no back-channel for it without a session). Prints the negotiated revision, the tool names, and each
result as one JSON line, so that a run through the proxy can be compared with a run
straight to the server.
"""
import json
import sys

import anyio
from mcp import Client
from mcp_types import ElicitResult

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def answer(ctx, params):
    return ElicitResult(action="accept", content={"confirm": True})


async def run(url: str, mode: str) -> int:
    async with Client(
        url, mode=mode, elicitation_callback=answer, read_timeout_seconds=30.0, cache=None
    ) as client:
        print(json.dumps({"protocol": client.protocol_version}), flush=True)
        listed = await client.list_tools()
        print(json.dumps({"tools": sorted(t.name for t in listed.tools)}), flush=True)
        calls = [
            ("search_documents", {"query": "SECRET-query", "limit": 3}),
            ("always_fails", {"reason": "SECRET-reason"}),
            ("search_documents", {"query": 5}),
            ("delete_document", {"name": "SECRET-name"}),
            ("build_report", {"pages": 2}),
        ]
        if mode == "auto":
            calls = [call for call in calls if call[0] != "delete_document"]
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments, meta={"traceparent": TRACEPARENT})
            print(json.dumps(result.model_dump(mode="json", exclude_none=True)), flush=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    sys.exit(anyio.run(run, sys.argv[1], sys.argv[2]))
