"""FastAGI: the protocol and its asyncio server."""
