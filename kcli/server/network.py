"""The socket server: listeners, connection limits, and requests in, responses out, in order.

Like Kafka's own SocketServer, a connection has at most one request in processing at a time (the
next one is taken only after the response is queued), which gives clients their ordering
guarantee without per-connection bookkeeping. Anything a client sends can at worst close its own
connection: oversized or negative frame lengths, frames that do not decode, unknown API keys.

Each listener has its own accept loop, as Kafka's Acceptor: it honours ``max.connections`` (stop
accepting until a connection closes) and ``max.connections.per.ip`` (accept and close at once),
see :mod:`kcli.server.connection_quotas`. Frames are cut by :mod:`kcli.server.framing`, which
holds memory only for bytes a client actually sent, within ``queued.max.request.bytes``.
"""

from __future__ import annotations

import asyncio
import ctypes
import errno
import functools
import itertools
import logging
import os
import socket
import sys
from typing import Any

from kio.schema.errors import ErrorCode

from kcli.protocol.messages import build, response_class
from kcli.server.apis import ApiSpec, RequestContext, load_all
from kcli.server.authorization.api_authorization import RequestAuthorization
from kcli.server.authorization.authorization_base import CloseConnection
from kcli.server.base.config import Listener
from kcli.server.connection_quotas import ConnectionQuotas, TooManyConnections
from kcli.server.framing import FrameConnection, ReceiveBuffers
from kcli.server.memory_pool import MemoryPool
from kcli.server.protocol.codec import DecodeError, decode_request, encode_response, peek_header
from kcli.server.security.authenticator import AuthenticationFailed, IllegalState, SaslSession
from kcli.server.security.principal import ANONYMOUS, KafkaPrincipal, NoMatchingRule, rfc2253_name
from kcli.server.security.scram import ScramCredential
from kcli.server.security.setup import ListenerSecurity
from kcli.server.state.broker import Broker
from kcli.server.storage.handles import FileRegion

log = logging.getLogger("kafka.network.SocketServer")
API_VERSIONS = 18
DESCRIBE_CONFIGS = 32
UNSUPPORTED_VERSION = int(ErrorCode.unsupported_version)


_M_TRIM_THRESHOLD = -1  # glibc <malloc.h>
_M_MMAP_THRESHOLD = -3
_HEAP_KEEP = 16 << 20


def _keep_request_buffers_in_the_heap() -> None:
    """Let glibc reuse freed request-sized blocks instead of returning them to the OS each time.

    Every produce request allocates a few buffers of its own size (its frame, the records that
    kio copies out of it, the response) and frees them at once. With glibc's adaptive defaults
    that either maps and unmaps them (over 128 KiB) or grows and trims the heap around them, so
    each request paid for fresh, zero-filled pages: profiling showed ~3 brk calls per 1 MB
    request and half the broker's CPU time in the kernel. Fixed thresholds of 16 MiB keep blocks
    up to that size in the heap and at most that much free memory unreturned. No-op elsewhere.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt(_M_MMAP_THRESHOLD, _HEAP_KEEP)
        libc.mallopt(_M_TRIM_THRESHOLD, _HEAP_KEEP)
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        pass


_TLS_READ_SIZE = 32 * 1024
_TLS_PIECE = 1 << 20  # a region sent over TLS is read and encrypted this much at a time
# sendfile errors that mean "not with this file or socket" (read and write instead), not a
# failed connection.
_NO_SENDFILE = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _small_tls_read_buffers() -> None:
    """Give each TLS connection a 32 KiB encrypted-read buffer instead of asyncio's 256 KiB.

    asyncio's SSLProtocol allocates ``max_size`` bytes per connection for the ciphertext it reads
    from the socket, and keeps them for the connection's life: 1,000 idle TLS clients held
    256 MiB. The decrypted bytes go straight into the server's shared receive area (the frame
    cutter's), so this buffer only needs to hold a read's worth of TLS records (16 KiB each); the
    class attribute is the documented size knob of that buffer, and this process is a broker only.
    """
    import asyncio.sslproto

    asyncio.sslproto.SSLProtocol.max_size = _TLS_READ_SIZE


class _Connection(FrameConnection):
    """A client connection: its frames, the listener it came in on, who it is, its request loop."""

    __slots__ = ("ip", "listener", "principal", "session", "task")

    def __init__(self, server: BrokerServer, listener: Listener, ip: str):
        super().__init__(server)
        self.listener = listener
        self.ip = ip  # as counted by the connection quotas
        self.principal: KafkaPrincipal = ANONYMOUS
        self.session: SaslSession | None = None
        self.task: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        server = self.server
        assert isinstance(server, BrokerServer)
        security = server.listener_security.get(self.listener.name)
        if security is not None and security.sasl:
            self.session = SaslSession(security, server.scram_credential)
        elif security is not None and security.ssl_context is not None:
            principal = _certificate_principal(transport, security)
            if principal is None:
                transport.close()
                return
            self.principal = principal
        self.task = asyncio.get_running_loop().create_task(server._serve_connection(self))

    async def send_region(self, region: FileRegion) -> None:
        """Send a segment file region: ``sendfile`` from the file to a plaintext socket (the
        kernel moves page-cache pages to the socket, Python never sees the bytes), reads and
        writes of at most 1 MiB for TLS (the bytes must be encrypted here).

        The common case costs one system call: with nothing queued in the transport, the
        region goes straight to the socket, which takes it whole when its send buffer has
        room; only what it did not take goes through ``loop.sendfile``, which waits for the
        socket to drain. A region shorter on disk than announced (the file was truncated under
        it) ends the connection: the frame's length prefix is already on the wire."""
        transport = self.transport
        assert transport is not None
        if self._lost or transport.is_closing():
            raise ConnectionResetError("connection lost")
        position, size = region.position, region.size
        if transport.get_extra_info("ssl_object") is None:
            if not transport.get_write_buffer_size():
                sock = transport.get_extra_info("socket")
                try:
                    sent = os.sendfile(sock.fileno(), region.fd, position, size)
                except (BlockingIOError, InterruptedError):
                    sent = -1  # the socket is full: loop.sendfile waits for it
                except OSError as exc:
                    if exc.errno not in _NO_SENDFILE:
                        raise
                    sent = -1  # loop.sendfile finds out too, and the reads below take over
                if sent == size:
                    return
                if sent == 0:  # end of file before the region's end
                    raise ConnectionAbortedError(f"{region!r} was truncated while being served")
                if sent > 0:
                    position, size = position + sent, size - sent
            try:
                done = await asyncio.get_running_loop().sendfile(
                    transport, region, position, size, fallback=False
                )
            except RuntimeError:  # includes SendfileNotAvailableError
                if self._lost or transport.is_closing():
                    raise ConnectionResetError("connection lost") from None
                done = -1  # this transport or file cannot sendfile: read and write instead
            if done == size:
                return
            if done >= 0:
                raise ConnectionAbortedError(f"{region!r}: sent {done} of {size} bytes (truncated)")
        end = position + size
        while position < end:
            piece = min(_TLS_PIECE, end - position)
            data = os.pread(region.fd, piece, position)
            if len(data) < piece:
                raise ConnectionAbortedError(f"{region!r} was truncated while being served")
            self.write(data)
            position += piece
            await self.drain()

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        server = self.server
        assert isinstance(server, BrokerServer)
        server.quotas.dec(self.listener.name, self.ip)


class BrokerServer:
    def __init__(self, broker: Broker):
        self.broker = broker
        config = broker.config
        self.apis: dict[int, ApiSpec] = load_all()
        self.connections: set[asyncio.Task[Any]] = set()
        self._ids = itertools.count()
        self.max_request_bytes = config.socket_request_max_bytes
        self.idle_timeout_s = config.connections_max_idle_ms / 1000
        self.buffers = ReceiveBuffers()
        self.pool = (
            MemoryPool(config.queued_max_request_bytes) if config.queued_max_request_bytes > 0 else None
        )
        inter_broker = config.raw.get("inter.broker.listener.name", "").strip().upper() or None
        self.quotas = ConnectionQuotas(
            max_connections=config.max_connections,
            max_per_ip=config.max_connections_per_ip,
            per_ip_overrides=config.max_connections_per_ip_overrides,
            per_listener=config.listener_max_connections,
            inter_broker_listener=inter_broker or "PLAINTEXT",
        )
        self._sockets: list[socket.socket] = []
        self._setting_up: set[asyncio.Task[None]] = set()
        security = broker.security
        self.listener_security: dict[str, ListenerSecurity] = security.settings.listeners if security else {}
        self.failed_auth_delay_s = (
            security.settings.failed_authentication_delay_ms if security else 100
        ) / 1000
        self.checks = RequestAuthorization(security.authorizer if security else None)

    def scram_credential(self, user: str, mechanism: str) -> ScramCredential | None:
        security = self.broker.security
        return security.credential(user, mechanism) if security is not None else None

    async def start(self) -> None:
        _keep_request_buffers_in_the_heap()
        if any(ls.ssl_context is not None for ls in self.listener_security.values()):
            _small_tls_read_buffers()
        backlog = self.broker.config.socket_listen_backlog_size
        for listener in self.broker.config.client_listeners:
            try:
                sock = _listening_socket(listener, backlog)
            except OSError as exc:  # Kafka's SocketServer wording, e.g. "...: Address already in use."
                reason = os.strerror(exc.errno) if exc.errno else str(exc)
                for opened in self._sockets:
                    opened.close()
                raise OSError(
                    f"Socket server failed to bind to {listener.bind_host}:{listener.port}: {reason}."
                ) from None
            self._sockets.append(sock)
            self.quotas.listeners.add(listener.name)
            log.info("Awaiting socket connections on %s:%d.", listener.bind_host, listener.port)
        for sock, listener in zip(self._sockets, self.broker.config.client_listeners, strict=True):
            self._accept(sock, listener)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        for task in list(self.connections):
            task.cancel()
        await asyncio.gather(*self._setting_up, *self.connections, return_exceptions=True)

    def _accept(self, sock: socket.socket, listener: Listener) -> None:
        """Kafka's Acceptor, on the event loop: accept what is waiting (up to one backlog's worth
        per turn, as asyncio's own servers do), stop at the connection limit, close connections
        over the per-IP limit at once."""
        loop = asyncio.get_running_loop()
        loop.remove_reader(sock.fileno())
        for _ in range(self.broker.config.socket_listen_backlog_size):
            if not self.quotas.slot_available(listener.name):
                self.quotas.block(listener.name, functools.partial(self._accept, sock, listener))
                return
            try:
                client, address = sock.accept()
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # out of descriptors or buffers: try again in a second
                log.error("Error while accepting connection on %s: %s", listener.name, exc)
                loop.call_later(1.0, self._accept, sock, listener)
                return
            ip = address[0]
            try:
                self.quotas.inc(listener.name, ip)
            except TooManyConnections as exc:
                log.info("%s", exc)
                self.quotas.dec(listener.name, ip)
                client.close()
                continue
            client.setblocking(False)
            task = loop.create_task(self._set_up(client, listener, ip))
            self._setting_up.add(task)
            task.add_done_callback(self._setting_up.discard)
        loop.add_reader(sock.fileno(), self._accept, sock, listener)

    async def _set_up(self, client: socket.socket, listener: Listener, ip: str) -> None:
        """Make the connection's transport: plain, or TLS once the handshake succeeded (a client
        speaking plaintext to a TLS port fails the handshake and is closed, not left hanging)."""
        loop = asyncio.get_running_loop()
        security = self.listener_security.get(listener.name)
        context = security.ssl_context if security is not None else None
        try:
            if context is None:
                await loop.connect_accepted_socket(functools.partial(_Connection, self, listener, ip), client)
            else:
                await loop.connect_accepted_socket(
                    functools.partial(_Connection, self, listener, ip),
                    client,
                    ssl=context,
                    ssl_handshake_timeout=min(self.idle_timeout_s, 60.0),
                )
        except (OSError, TimeoutError) as exc:  # reset, or a failed TLS handshake
            if context is not None:
                log.info(
                    "Failed authentication with /%s (SSL handshake failed: %s)",
                    ip,
                    getattr(exc, "reason", None) or exc,
                )
            self.quotas.dec(listener.name, ip)
            client.close()

    async def _serve_connection(self, conn: _Connection) -> None:
        task = asyncio.current_task()
        assert task is not None
        self.connections.add(task)
        peer = conn.peer
        conn_id = f"{peer[0]}:{peer[1]}-{next(self._ids)}"
        try:
            await self._request_loop(conn, peer, conn_id)
        except (ConnectionError, TimeoutError):
            pass
        except asyncio.CancelledError:
            pass
        except (DecodeError, CloseConnection) as exc:
            log.info("Closing connection %s: %s", conn_id, exc)
        except Exception:  # a bug in a handler must not take the broker down
            log.exception("Closing connection %s after an unexpected error", conn_id)
        finally:
            self.connections.discard(task)
            conn.close()

    async def _request_loop(self, conn: _Connection, peer: tuple[str, int], conn_id: str) -> None:
        session = conn.session
        while True:
            frame = conn.next_frame()
            if frame is None:
                if conn.at_end:
                    if conn.bad_size is not None:
                        log.warning(
                            "Closing connection %s: request size %d is outside 8..%d (socket.request.max.bytes)",
                            conn_id,
                            conn.bad_size,
                            self.max_request_bytes,
                        )
                    return
                async with asyncio.timeout(self.idle_timeout_s):
                    await conn.wait_for_data()
                continue
            if session is not None:
                if session.intercepts(frame):
                    keep = await self._authenticate(conn, session, frame, peer, conn_id)
                    conn.recycle(frame)
                    if not keep:
                        return
                    continue
                if session.expired:  # KIP-368: the client did not re-authenticate in time
                    log.info(
                        "Closing connection %s: its SASL session expired (connections.max.reauth.ms)", conn_id
                    )
                    return
                conn.principal = session.principal
            response = await self._dispatch(frame, peer, conn_id, conn)
            conn.recycle(frame)
            if response is None:
                continue
            if isinstance(response, list):
                await _send_chunks(conn, response)
            else:
                conn.write(response)
            await conn.drain()

    async def _authenticate(
        self,
        conn: _Connection,
        session: SaslSession,
        frame: bytes | memoryview,
        peer: tuple[str, int],
        conn_id: str,
    ) -> bool:
        """One frame of a SASL exchange; False when the connection must close."""
        try:
            api_key, _correlation, response = session.handle(frame)
        except IllegalState as exc:
            log.info("Closing connection %s: %s", conn_id, exc)
            return False
        except AuthenticationFailed as exc:
            # Once per connection, never the password (Kafka's Selector line); the answer goes
            # out, then the close waits connection.failed.authentication.delay.ms, so a flood of
            # bad logins costs its senders time without holding up anyone else.
            log.info("Failed authentication with /%s (channelId=%s) (%s)", conn.ip, conn_id, exc.message)
            if exc.detail != exc.message:
                log.debug("Authentication failure detail for %s: %s", conn_id, exc.detail)
            if exc.response is not None:
                conn.write(exc.response)
            await asyncio.sleep(self.failed_auth_delay_s)
            return False
        if response is None and api_key == API_VERSIONS:
            response = await self._dispatch(frame, peer, conn_id, conn)
        if response is not None:
            assert isinstance(response, bytes)
            conn.write(response)
            await conn.drain()
        if session.authenticated:
            conn.principal = session.principal
        return True

    async def _dispatch(
        self, frame: bytes | memoryview, peer: tuple[str, int], conn_id: str, conn: _Connection
    ) -> bytes | list[Any] | None:
        api_key, api_version, correlation_id = peek_header(frame)
        spec = self.apis.get(api_key)
        if spec is None:
            raise DecodeError(f"unknown API key {api_key}")
        if not spec.min_version <= api_version <= spec.max_version:
            if api_key == API_VERSIONS:
                return self._api_versions_fallback(correlation_id)
            raise DecodeError(f"unsupported version {api_version} of {spec.name}")
        header, body = decode_request(frame, api_key, api_version)
        ctx = RequestContext(
            self.broker,
            header,
            peer[0],
            peer[1],
            conn_id,
            listener=conn.listener.name,
            principal=conn.principal,
        )
        if self.checks.authorizer is None and api_key != DESCRIBE_CONFIGS:
            result = await spec.handler(ctx, body)
        else:
            result = await self.checks.run(ctx, body, spec)
        if result is None:
            return None
        if isinstance(result, dict):
            if spec.encoder is not None:
                chunks = spec.encoder(api_version, correlation_id, result)
                if chunks is not None:
                    return chunks
            result = build(ctx.response_cls, result)
        return encode_response(result, correlation_id)

    def _api_versions_fallback(self, correlation_id: int) -> bytes:
        """An ApiVersions v0 response with UNSUPPORTED_VERSION, so the client retries lower."""
        cls = response_class(API_VERSIONS, 0)
        body = build(
            cls,
            {
                "error_code": UNSUPPORTED_VERSION,
                "api_keys": [
                    {"api_key": s.key, "min_version": s.min_version, "max_version": s.max_version}
                    for s in sorted(self.apis.values(), key=lambda s: s.key)
                ],
            },
        )
        return encode_response(body, correlation_id)


async def _send_chunks(conn: _Connection, chunks: list[Any]) -> None:
    """Write a fast encoder's chunks in order. Record batches are written as they were read,
    uncopied (writelines would join them into one new buffer first), and file regions go from
    the segment file to the socket with ``sendfile`` on plaintext connections, never entering
    Python; TLS connections read them (the bytes must be encrypted here). Waiting for the client
    between chunks keeps what the transport copies to ~1 MiB, not the whole (up to
    fetch.max.bytes) response. Every region is released, sent or not."""
    try:
        for i, chunk in enumerate(chunks):
            chunks[i] = None
            if isinstance(chunk, FileRegion):
                try:
                    await conn.send_region(chunk)
                finally:
                    chunk.release()
            else:
                conn.write(chunk)
                await conn.drain()
    finally:
        for chunk in chunks:
            if isinstance(chunk, FileRegion):
                chunk.release()


def _listening_socket(listener: Listener, backlog: int) -> socket.socket:
    """A bound, listening, non-blocking socket for ``listener`` (every interface when host is '')."""
    host = listener.host or None
    infos = socket.getaddrinfo(host, listener.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


def _certificate_principal(
    transport: asyncio.BaseTransport, security: ListenerSecurity
) -> KafkaPrincipal | None:
    """SSL: ``User:`` + the client certificate's subject mapped by ssl.principal.mapping.rules,
    ``User:ANONYMOUS`` without a certificate (Kafka's DefaultKafkaPrincipalBuilder)."""
    ssl_object = transport.get_extra_info("ssl_object")
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        return ANONYMOUS
    dn = rfc2253_name(der)
    try:
        return KafkaPrincipal("User", security.principal_mapper.name(dn))
    except NoMatchingRule:
        log.info(
            "Failed authentication with a client certificate: no ssl.principal.mapping.rules rule applies to %s",
            dn,
        )
        return None
