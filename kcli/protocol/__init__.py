"""Kafka's wire protocol as both halves speak it: kio's messages, frames and client connections.

The broker (``kcli/server``) decodes requests and encodes responses with :mod:`kcli.protocol.messages`;
the client half (the tools, the TUI, the teaching views) and the broker's own clients (replica
fetchers, transaction markers) send requests through :mod:`kcli.protocol.connection` (blocking) or
:mod:`kcli.protocol.async_connection` (asyncio), which frame them with :mod:`kcli.protocol.frames`.
"""
