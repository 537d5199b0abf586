"""A real SMTP server (aiosmtpd) on 127.0.0.1 with faults a test can arm, recording what it stored.

Like tests/fake_esp.py for the HTTP path: the server runs in a thread of the test
process, the Celery workers in other processes connect to it, and the test
compares what it stored with the delivery ledger::

    with SMTPServer() as relay:
        relay.answer_next(Step.END, "451 4.3.0 Try again later")
        ...
        relay.stored_by_recipient()   # Counter: envelope recipient -> copies stored

Faults, per SMTP step (each armed fault is used once, by the next session that
reaches that step, in the order armed):

* ``answer_next(step, reply)``  answer the command with ``reply`` instead; a 421
  closes the connection as a real server does. At ``Step.END`` nothing is stored.
* ``drop_next(step)``  close the connection without answering; at ``Step.DATA``
  after the 354, while the message is being sent; at ``Step.END`` after the
  final ".", with the message stored or not (``stored=``).
* ``late_answer_next(seconds)``  store the message, then answer 250 only after
  ``seconds`` (longer than the client waits: the client cannot know it arrived).
* ``refuse_recipients(addresses, reply)``  every RCPT for them gets ``reply``.

TLS (STARTTLS or implicit) and AUTH are switched on by the constructor; PIPELINING is
offered unless switched off.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
import warnings
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from enum import StrEnum

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

__all__ = ["SMTPServer", "Step", "StoredMessage"]

HOST = "127.0.0.1"
# aiosmtpd logs every command at INFO; a test's output should show only what went wrong.
logging.getLogger("mail.log").setLevel(logging.ERROR)


class Step(StrEnum):
    MAIL = "MAIL"
    RCPT = "RCPT"
    DATA = "DATA"  # the DATA command and the message that follows it
    END = "END"  # the answer to the final "."


@dataclass(frozen=True)
class StoredMessage:
    session: int  # the number of the connection that brought it (1, 2, ...)
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    tls: bool
    user: str
    received_at: float

    @property
    def recipients(self) -> tuple[str, ...]:
        """The envelope recipients (the name bench/delivery.py reads from the fake ESP's messages too)."""
        return self.rcpt_tos

    @property
    def headers(self):
        return BytesHeaderParser().parsebytes(self.data)

    @property
    def message_id(self) -> str:
        return self.headers.get("Message-ID", "")


@dataclass(frozen=True)
class _Fault:
    kind: str  # "answer", "drop", "late"
    reply: str = ""
    seconds: float = 0.0
    stored: bool = False


class _Handler:
    """aiosmtpd hooks: MAIL, RCPT and the end of DATA, each consulting the armed faults."""

    def __init__(self, server: SMTPServer):
        self.server = server

    async def handle_EHLO(self, smtp, session, envelope, hostname, responses):
        session.host_name = hostname
        if self.server.pipelining:
            # aiosmtpd answers commands strictly in order from its input buffer, which is
            # all RFC 2920 asks of a server; it just does not say so.
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(self, smtp, session, envelope, address, options):
        fault = self.server._take(Step.MAIL)
        if fault is not None:
            return _act(smtp, fault)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, smtp, session, envelope, address, options):
        refusal = self.server._refusal_for(address)
        if refusal:
            return refusal
        fault = self.server._take(Step.RCPT)
        if fault is not None:
            return _act(smtp, fault)
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, smtp, session, envelope):
        fault = self.server._take(Step.END)
        if fault is None:
            return self.server._store(smtp, session, envelope)
        if fault.kind == "late":
            reply = self.server._store(smtp, session, envelope)
            await asyncio.sleep(fault.seconds)
            return reply
        if fault.kind == "drop" and fault.stored:
            self.server._store(smtp, session, envelope)
        return _act(smtp, fault)


    async def handle_exception(self, error: Exception) -> str:
        # A refused TLS handshake (the client did not trust the certificate) ends the session;
        # the client reports it, so the server needs no traceback for it.
        return f"451 4.3.0 {type(error).__name__}"


def _act(smtp: SMTP, fault: _Fault) -> str:
    if fault.kind == "drop":
        smtp.transport.close()
        return "250 never seen by the client"
    return fault.reply


class _FaultySMTP(SMTP):
    """aiosmtpd's protocol plus what a real relay does: close after 421, and faults inside DATA."""

    def __init__(self, handler, *, owner: SMTPServer, number: int, **kwargs):
        super().__init__(handler, **kwargs)
        self.owner = owner
        self.number = number

    def connection_made(self, transport) -> None:
        if self.transport is None:  # not the switch to TLS after STARTTLS
            self.owner._session_opened()
        super().connection_made(transport)

    def connection_lost(self, error) -> None:
        self.owner._session_closed()
        super().connection_lost(error)

    async def push(self, status):
        if self.transport is None or self.transport.is_closing():
            return
        await super().push(status)
        if str(status).startswith("421"):
            self.transport.close()

    async def smtp_DATA(self, arg: str) -> None:
        if self.envelope is None or not self.envelope.rcpt_tos:
            return await super().smtp_DATA(arg)
        fault = self.owner._take(Step.DATA)
        if fault is None:
            return await super().smtp_DATA(arg)
        if fault.kind == "drop":
            # Take the 354, read the start of the message, and hang up in the middle of it.
            await self.push("354 End data with <CR><LF>.<CR><LF>")
            await self._reader.read(1024)
            self.transport.close()
            return None
        await self.push(fault.reply)
        return None


class _Controller(Controller):
    def __init__(self, owner: SMTPServer, **kwargs):
        self.owner = owner
        super().__init__(_Handler(owner), hostname=HOST, port=0, **kwargs)

    def factory(self):
        with warnings.catch_warnings():
            # "AUTH without TLS" is aiosmtpd's warning for implicit TLS, where TLS is on from the start.
            warnings.simplefilter("ignore", UserWarning)
            return _FaultySMTP(self.handler, owner=self.owner, number=self.owner._next_session(), **self.SMTP_kwargs)

    def _trigger_server(self):
        # Port 0 lets the system choose a free port; read it back before the readiness probe.
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


class SMTPServer:
    def __init__(self, *, tls_context=None, implicit_tls: bool = False, users: dict[str, str] | None = None,
                 pipelining: bool = True):
        """``tls_context``: a server-side ssl.SSLContext; with ``implicit_tls`` TLS starts at once,
        otherwise STARTTLS is offered and required. ``users``: AUTH is required for them.
        ``pipelining``: offer PIPELINING, as production relays do (can be changed between sessions)."""
        self.pipelining = pipelining
        self._lock = threading.Lock()
        self._messages: list[StoredMessage] = []
        self._faults: dict[Step, deque[_Fault]] = defaultdict(deque)
        self._refused: dict[str, str] = {}
        self._sessions = 0
        self._open = 0
        self.users = users or {}
        options = {"data_size_limit": 64 * 1024 * 1024, "timeout": 60, "enable_SMTPUTF8": False}
        if tls_context is not None and implicit_tls:
            options["ssl_context"] = tls_context
        elif tls_context is not None:
            options.update(tls_context=tls_context, require_starttls=True)
        if self.users:
            # With implicit TLS the whole session is encrypted, which aiosmtpd cannot see by itself.
            options.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=not implicit_tls)
        self._controller = _Controller(self, **options)
        self.host = HOST
        self.port = 0

    # --- life cycle ---------------------------------------------------------------------

    def start(self) -> SMTPServer:
        self._controller.start()
        self.port = self._controller.port
        with self._lock:
            self._sessions = 0  # the readiness probe was not a client
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- what it stored ---------------------------------------------------------------------

    def messages(self) -> list[StoredMessage]:
        with self._lock:
            return list(self._messages)

    def stored_by_recipient(self) -> Counter:
        """Envelope recipient (lower case) -> how many copies were stored for it."""
        return Counter(rcpt.lower() for message in self.messages() for rcpt in message.rcpt_tos)

    def duplicates(self) -> dict[str, int]:
        """Message-IDs stored more than once."""
        counts = Counter(message.message_id for message in self.messages())
        return {message_id: n for message_id, n in counts.items() if n > 1}

    def cpu_seconds(self) -> float:
        """CPU time of the server's thread (Linux), for the benchmark's CPU-per-message figures."""
        from pathlib import Path

        thread = self._controller._thread
        try:
            fields = Path(f"/proc/self/task/{thread.native_id}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, AttributeError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    @property
    def open_sessions(self) -> int:
        """Connections open right now."""
        with self._lock:
            return self._open

    @property
    def sessions(self) -> int:
        """Connections opened by clients since start (or the last clear)."""
        with self._lock:
            return self._sessions

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()
            self._sessions = 0
        self.reset_faults()

    # --- faults -------------------------------------------------------------------------------

    def answer_next(self, step: Step, reply: str, times: int = 1) -> None:
        self._arm(step, _Fault("answer", reply=reply), times)

    def drop_next(self, step: Step, times: int = 1, *, stored: bool = False) -> None:
        self._arm(step, _Fault("drop", stored=stored), times)

    def late_answer_next(self, seconds: float, times: int = 1) -> None:
        self._arm(Step.END, _Fault("late", seconds=seconds), times)

    def refuse_recipients(self, addresses, reply: str = "550 5.1.1 No such user") -> None:
        with self._lock:
            self._refused.update({address.lower(): reply for address in addresses})

    def pending_faults(self) -> int:
        """Armed faults not used yet (a test checks that its faults really happened)."""
        with self._lock:
            return sum(len(queue) for queue in self._faults.values())

    def reset_faults(self) -> None:
        with self._lock:
            self._faults.clear()
            self._refused.clear()

    def _arm(self, step: Step, fault: _Fault, times: int) -> None:
        with self._lock:
            self._faults[step].extend([fault] * times)

    # --- called on the server's event loop ----------------------------------------------------

    def _take(self, step: Step) -> _Fault | None:
        with self._lock:
            queue = self._faults.get(step)
            return queue.popleft() if queue else None

    def _refusal_for(self, address: str) -> str:
        with self._lock:
            return self._refused.get(address.lower(), "")

    def _session_opened(self) -> None:
        with self._lock:
            self._open += 1

    def _session_closed(self) -> None:
        with self._lock:
            self._open -= 1

    def _next_session(self) -> int:
        with self._lock:
            self._sessions += 1
            return self._sessions

    def _store(self, smtp: _FaultySMTP, session, envelope) -> str:
        user = session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else ""
        message = StoredMessage(
            session=smtp.number, mail_from=envelope.mail_from, rcpt_tos=tuple(envelope.rcpt_tos),
            data=bytes(envelope.original_content), user=user,
            tls=session.ssl is not None or smtp.transport.get_extra_info("ssl_object") is not None,
            received_at=time.monotonic(),
        )
        with self._lock:
            self._messages.append(message)
        return "250 2.0.0 OK: queued"

    def _authenticate(self, smtp, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        expected = self.users.get(auth_data.login.decode())
        # handled=False: aiosmtpd itself answers 235 or 535.
        return AuthResult(success=expected is not None and expected == auth_data.password.decode(),
                          handled=False, auth_data=auth_data)
