"""An MCP server written with the official Python SDK (PyPI `mcp`), over stdio: the
server nobody here wrote that `mcp-trace proxy` is tested against. Tools (one that
fails in-band), a resource template and a prompt; nothing it answers depends on time."""

from mcp.server.mcpserver import MCPServer

server = MCPServer("py-docs")


@server.tool()
def search_documents(query: str, limit: int = 10) -> str:
    """Searches the documents."""
    return f"{min(len(query), limit)} documents"


@server.tool()
def always_fails(reason: str) -> str:
    """Fails, with a message that must never be exported."""
    raise ValueError("SECRET-failure " + reason)


@server.resource("doc://{name}")
def document(name: str) -> str:
    """One document."""
    return "the text of " + name


@server.prompt()
def summarize(topic: str) -> str:
    """Asks for a summary."""
    return "Summarize " + topic


if __name__ == "__main__":
    server.run()
