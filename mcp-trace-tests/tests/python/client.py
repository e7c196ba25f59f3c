#!/usr/bin/env python3
"""The official Python MCP SDK's client (mcp==2.3.0) driving a server over stdio, for
the end-to-end tests: a real peer nobody here wrote.

usage: client.py SERVER-COMMAND 2026-07-28|2025-11-25

Lists the tools, calls `search_documents` and `confirm_action` (answering the question
yes: in 2026-07-28 the SDK drives the input_required rounds itself, before that it
answers the server's elicitation/create), each call with a fixed traceparent in
`_meta`. Prints one JSON line per call; exits non-zero when the protocol revision
negotiated is not the one asked for.
"""
import json
import os
import sys

import anyio
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp_types import ElicitRequestParams, ElicitResult, ErrorData

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


async def answer(ctx: ClientRequestContext, params: ElicitRequestParams) -> ElicitResult | ErrorData:
    return ElicitResult(action="accept", content={"SENTINEL-ANSWER": True})


async def run(command: str, protocol: str) -> int:
    # "auto" discovers the server (2026-07-28); "legacy" initializes (2025-11-25).
    mode = {"2026-07-28": "auto", "2025-11-25": "legacy"}[protocol]
    # The server exports where this process's environment says.
    server = StdioServerParameters(command=command, args=[], env=dict(os.environ))
    async with Client(
        server,
        mode=mode,
        elicitation_callback=answer,
        read_timeout_seconds=30.0,
        cache=None,
    ) as client:
        if client.protocol_version != protocol:
            print(f"negotiated {client.protocol_version!r}, not {protocol!r}", file=sys.stderr)
            return 3
        listed = await client.list_tools()
        print(json.dumps({"tools": sorted(t.name for t in listed.tools)}), flush=True)
        meta = {"traceparent": TRACEPARENT}
        calls = [
            ("search_documents", {"query": "SENTINEL-QUERY", "limit": 2}),
            ("confirm_action", {"action": "SENTINEL-ACTION"}),
        ]
        for tool, arguments in calls:
            result = await client.call_tool(tool, arguments, meta=meta)
            print(json.dumps({"tool": tool, "isError": bool(result.is_error)}), flush=True)
    return 0


def main() -> int:
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    # The test that runs this bounds its time.
    return anyio.run(run, sys.argv[1], sys.argv[2])


if __name__ == "__main__":
    sys.exit(main())
