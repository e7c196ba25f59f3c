"""An MCP server written with the official Python SDK (PyPI `mcp`), over stdio, or over
streamable HTTP with `--http PORT` (`--stateless`: no sessions; `--json`: answers as
JSON rather than event streams): the server nobody here wrote that `mcp-trace proxy`
is tested against. Tools (one that
fails in-band, one that asks the user through elicitation, one that reports progress
and logs), a resource template and a prompt; nothing it answers depends on time."""

from mcp.server.mcpserver import Context, MCPServer
from pydantic import BaseModel

server = MCPServer("py-docs")


@server.tool()
def search_documents(query: str, limit: int = 10) -> str:
    """Searches the documents."""
    return f"{min(len(query), limit)} documents"


@server.tool()
def always_fails(reason: str) -> str:
    """Fails, with a message that must never be exported."""
    raise ValueError("SECRET-failure " + reason)


class Confirmation(BaseModel):
    confirm: bool


@server.tool()
async def delete_document(name: str, ctx: Context) -> str:
    """Deletes a document once the user confirms."""
    answer = await ctx.elicit("Delete SECRET-question " + name + "?", Confirmation)
    return answer.action


@server.tool()
async def build_report(pages: int, ctx: Context) -> str:
    """Reports progress and logs while it works."""
    for page in range(pages):
        await ctx.report_progress(page + 1, pages, "SECRET-progress")
        await ctx.info("SECRET-log page " + str(page))
    return "built"


@server.resource("doc://{name}")
def document(name: str) -> str:
    """One document."""
    return "the text of " + name


@server.prompt()
def summarize(topic: str) -> str:
    """Asks for a summary."""
    return "Summarize " + topic


if __name__ == "__main__":
    import sys

    if "--http" in sys.argv:
        port = int(sys.argv[sys.argv.index("--http") + 1])
        server.run(
            "streamable-http",
            port=port,
            stateless_http="--stateless" in sys.argv,
            json_response="--json" in sys.argv,
        )
    else:
        server.run()
