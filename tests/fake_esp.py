"""A local fake ESP that speaks enough of Postmark's HTTP API for anymail.

Why this exists
---------------
MailGuard's delivery path is "Celery worker -> anymail's Postmark backend -> HTTPS".
To test it end to end we want anymail's *real* backend (its payload building,
batch-endpoint choice, error parsing and exception classes) to run unmodified, so
instead of mocking anymail we point its ``POSTMARK_API_URL`` at this server::

    fake = FakeESP().start()
    ANYMAIL = {"POSTMARK_SERVER_TOKEN": fake.token, "POSTMARK_API_URL": fake.url}

The Celery worker usually runs in ANOTHER process, so a fake inside the worker
(or a mock) would be invisible to the test.  The server therefore runs in a daemon
thread of the *test* process and records what it accepted in memory, where the
test can assert on it.  Requests arrive on several handler threads at once, so
every piece of shared state is guarded by one lock.

Supported endpoints (everything else answers 404):

* ``POST /email``        one message (a JSON object)          -> one result object
* ``POST /email/batch``  a JSON list of message objects       -> a list of results

Fault injection (``fail_next``, ``fail_ratio``, ``accept_then_fail_next``,
``delay_next``/``set_delay``, ``reject_recipients``) can be changed at any time
from the test thread while the worker is sending.

Only the standard library is used, so the fake has no dependencies of its own
and behaves the same wherever the suite runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import getaddresses
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NamedTuple
from urllib.parse import parse_qs, urlsplit

__all__ = ["Attachment", "FakeESP", "ReceivedMessage"]

TOKEN_HEADER = "X-Postmark-Server-Token"

# The 406 text must match the regex anymail's Postmark backend uses to find the refused
# addresses: r"inactive addresses:\s*(.*)\.\s*Inactive recipients" (re.MULTILINE).  The
# "(.*)" does not cross a newline, so the address list must stay on one line and be
# followed by ". Inactive recipients".  anymail lower-cases what it extracts.
INACTIVE_ALL_MESSAGE = (
    "You tried to send to a recipient that has been marked as inactive.\n"
    "Found inactive addresses: {addresses}. "
    "Inactive recipients are ones that have generated a hard bounce or a spam complaint. "
)
# What Postmark says when only SOME recipients of one message are inactive: the
# message is accepted (ErrorCode 0) and anymail marks those addresses "rejected".
INACTIVE_SOME_MESSAGE = (
    "Message OK, but will not deliver to these inactive addresses: {addresses}. "
    "Inactive recipients are ones that have generated a hard bounce or a spam complaint."
)

# Error bodies for injected failures.  anymail raises AnymailRequestsAPIError for any
# non-2xx status other than 422, whatever the body says.
_ERROR_BODIES = {
    HTTPStatus.UNAUTHORIZED: {"ErrorCode": 10, "Message": "Bad or missing Server API Token"},
    HTTPStatus.TOO_MANY_REQUESTS: {"ErrorCode": 429, "Message": "Rate limit exceeded"},
    HTTPStatus.INTERNAL_SERVER_ERROR: {"ErrorCode": 100, "Message": "Internal error"},
    # Postmark's generic "invalid request" (anymail raises AnymailRequestsAPIError for it,
    # because the text does not name a To/Cc/Bcc address).
    HTTPStatus.UNPROCESSABLE_ENTITY: {"ErrorCode": 300, "Message": "Invalid email request"},
}


def _error_body(status: int) -> dict[str, Any]:
    if status in _ERROR_BODIES:
        return dict(_ERROR_BODIES[status])
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return {"ErrorCode": status, "Message": phrase}


def _addr_specs(header_value: str | None) -> list[str]:
    """Lower-cased addr-specs from an address-list header value ("A <a@x>, b@y")."""
    if not header_value:
        return []
    return [addr.lower() for _name, addr in getaddresses([header_value]) if addr]


class Attachment(NamedTuple):
    """A decoded attachment.  A tuple, so it compares equal to (name, type, bytes)."""

    name: str
    content_type: str
    content: bytes


@dataclass
class ReceivedMessage:
    """One message the fake ACCEPTED (a batch of n recipients gives n of these)."""

    message_id: str  # the MessageID the fake answered with
    to: str  # the "To" field exactly as sent ("" for a cc/bcc-only message)
    cc: str
    bcc: str
    from_: str
    subject: str
    text_body: str | None
    html_body: str | None
    headers: dict[str, str]  # from Postmark's [{"Name":..., "Value":...}] list
    attachments: list[Attachment]
    metadata: dict[str, Any]
    received_at: float  # time.monotonic() in the test process
    endpoint: str = "email"  # "email" or "email/batch"
    # addr-specs in To that were refused as inactive while the rest were accepted
    # (only possible on /email with several To addresses); they were NOT delivered.
    inactive: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the JSON as sent

    def header(self, name: str, default: str | None = None) -> str | None:
        """Case-insensitive header lookup."""
        lname = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lname:
                return value
        return default

    @property
    def recipients(self) -> list[str]:
        """Lower-cased addr-specs this message was delivered to (To + Cc + Bcc)."""
        delivered = _addr_specs(self.to) + _addr_specs(self.cc) + _addr_specs(self.bcc)
        return [addr for addr in delivered if addr not in self.inactive]

    @property
    def dedup_key(self) -> str:
        """The Message-ID header if present, else "to=<addr-specs> subject=<subject>"."""
        message_id = self.header("Message-ID")
        if message_id:
            return message_id.strip()
        return "to={} subject={}".format(",".join(_addr_specs(self.to)), self.subject)


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that disables Nagle and tracks its client sockets."""

    daemon_threads = True  # a stuck handler must never keep the test process alive
    allow_reuse_address = True

    def __init__(self, address, handler, fake: FakeESP):
        self.fake = fake
        self._open_sockets: set[socket.socket] = set()
        self._sockets_lock = threading.Lock()
        super().__init__(address, handler)

    def get_request(self):
        sock, addr = super().get_request()
        # Without TCP_NODELAY the response headers and body leave in two small
        # segments; Nagle holds the second back until the client's delayed ACK,
        # so every request would stall ~40 ms and rate measurements would be bogus.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._sockets_lock:
            self._open_sockets.add(sock)
        self.fake._connection_accepted()
        return sock, addr

    def shutdown_request(self, request):
        with self._sockets_lock:
            self._open_sockets.discard(request)
        super().shutdown_request(request)

    def close_client_sockets(self):
        """Break idle keep-alive connections so their handler threads exit."""
        with self._sockets_lock:
            sockets = list(self._open_sockets)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        # Clients that time out (delay faults) or are cut off by stop() make writes fail;
        # that is expected, not worth a traceback on stderr.
        pass


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps the connection open between requests, so anymail's
    # requests.Session reuses one TCP connection (this requires an exact
    # Content-Length on every response, which _send_json always sets).
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format, *args):
        pass  # quiet: test output should not be flooded with access logs

    def handle(self):
        try:
            super().handle()
        except OSError:
            # Client went away (e.g. it timed out waiting for a delayed answer).
            self.close_connection = True

    def do_POST(self):
        fake = self.server.fake
        fake._note_request()
        # Always read the whole body, even for requests we refuse, so the next
        # request on this keep-alive connection starts at the right byte.
        length = self.headers.get("Content-Length")
        if length is None:
            self._send_json(411, {"ErrorCode": 411, "Message": "Length Required"})
            self.close_connection = True
            return
        body = self.rfile.read(int(length))
        status, payload, extra_headers, delay = fake._handle_post(
            urlsplit(self.path).path, self.headers.get(TOKEN_HEADER), body
        )
        if delay:
            # The message (if any) is already recorded: this models "accepted, but the
            # answer is late".  Waiting on the stop event keeps stop() from hanging.
            fake._sleep(delay)
        self._send_json(status, payload, extra_headers)

    def do_GET(self):
        # Postmark's outbound message search: GET /messages/outbound?metadata_<key>=<value>&recipient=…
        parts = urlsplit(self.path)
        if parts.path.rstrip("/") != "/messages/outbound":
            self._send_json(404, {"ErrorCode": 404, "Message": "Not found"})
            return
        if self.headers.get(TOKEN_HEADER) != self.server.fake.token:
            self._send_json(401, _error_body(401))
            return
        self._send_json(200, self.server.fake.search_outbound(parse_qs(parts.query)))

    def _send_json(self, status: int, payload: Any, extra_headers: dict | None = None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (extra_headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class FakeESP:
    """A fake Postmark API on 127.0.0.1, recording accepted messages in memory.

    Use as ``with FakeESP() as fake: ...`` or ``fake = FakeESP().start(); ...;
    fake.stop()``.  All public methods are thread-safe.
    """

    def __init__(self, token: str | None = None, host: str = "127.0.0.1", port: int = 0):
        self.token = token or f"fake-postmark-{uuid.uuid4().hex}"
        self.host = host
        self._port = port
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._messages: list[ReceivedMessage] = []
        self._request_times: list[float] = []
        self._connection_count = 0
        self.reset_faults()

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeESP:
        if self._server is not None:
            raise RuntimeError("FakeESP already started")
        self._stopping = threading.Event()
        self._server = _Server((self.host, self._port), _Handler, self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"FakeESP:{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()  # wake handlers sleeping in a delay fault
        server.shutdown()  # stop accepting
        server.close_client_sockets()  # end idle keep-alive connections
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> FakeESP:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeESP is not running")
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """Base API URL for ANYMAIL["POSTMARK_API_URL"], e.g. "http://127.0.0.1:PORT/"."""
        return f"http://{self.host}:{self.port}/"

    # ----------------------------------------------------------------- recordings

    def messages(self) -> list[ReceivedMessage]:
        with self._lock:
            return list(self._messages)

    def messages_to(self, addr: str) -> list[ReceivedMessage]:
        """Accepted messages delivered to addr (addr-spec, case-insensitive; To/Cc/Bcc)."""
        wanted = _addr_specs(addr)
        wanted_addr = wanted[0] if wanted else addr.strip().lower()
        return [m for m in self.messages() if wanted_addr in m.recipients]

    def clear(self) -> None:
        """Forget recorded messages and request times (faults and connection count stay)."""
        with self._lock:
            self._messages.clear()
            self._request_times.clear()

    @property
    def request_count(self) -> int:
        """Number of POSTs received (including refused, failed and unauthorised ones)."""
        with self._lock:
            return len(self._request_times)

    @property
    def request_times(self) -> list[float]:
        """time.monotonic() at the arrival of every POST, in arrival order."""
        with self._lock:
            return list(self._request_times)

    @property
    def connection_count(self) -> int:
        """Number of TCP connections accepted since start()."""
        with self._lock:
            return self._connection_count

    def duplicates(self) -> dict[str, int]:
        """dedup_key -> count for every key accepted more than once.

        A real ESP delivers a resent message again, so the fake does too; this is how
        tests detect double sends.  The key is the Message-ID header, or
        "to=<addr-specs> subject=<subject>" for messages without one.
        """
        counts = Counter(m.dedup_key for m in self.messages())
        return {key: n for key, n in counts.items() if n > 1}

    def accepted_by_recipient(self) -> dict[str, int]:
        """Lower-cased addr-spec -> number of accepted messages delivered to it."""
        counts: Counter[str] = Counter()
        for message in self.messages():
            counts.update(message.recipients)
        return dict(counts)

    # ----------------------------------------------------------------- faults

    def fail_next(self, n: int = 1, status: int = 500, retry_after: int | None = None) -> None:
        """The next n requests answer `status` and record nothing."""
        self._check_error_status(status)
        with self._lock:
            self._fail_next = n
            self._fail_next_status = status
            self._fail_next_retry_after = retry_after

    def fail_ratio(
        self,
        ratio: float,
        status: int = 500,
        retry_after: int | None = None,
        seed: int = 1234,
    ) -> None:
        """A deterministic pseudo-random fraction of requests answer `status`, recording
        nothing.  ratio=0 turns it off."""
        if not 0 <= ratio <= 1:
            raise ValueError("ratio must be between 0 and 1")
        self._check_error_status(status)
        with self._lock:
            self._fail_ratio = ratio
            self._fail_ratio_status = status
            self._fail_ratio_retry_after = retry_after
            self._fail_ratio_rng = random.Random(seed)

    def accept_then_fail_next(self, n: int = 1, status: int = 500) -> None:
        """The next n requests are recorded as accepted but answered with `status`
        (the sender cannot know whether the mail went out)."""
        self._check_error_status(status)
        with self._lock:
            self._accept_then_fail = n
            self._accept_then_fail_status = status

    def delay_next(self, n: int, seconds: float) -> None:
        """The next n requests wait `seconds` after recording, before answering."""
        with self._lock:
            self._delay_next = n
            self._delay_next_seconds = seconds

    def set_delay(self, seconds: float) -> None:
        """Every request waits `seconds` after recording, before answering (0 = off)."""
        with self._lock:
            self._delay = seconds

    def reject_recipients(self, addresses) -> None:
        """Refuse messages To these addresses as inactive (addr-spec, case-insensitive).
        Replaces the previous set; pass [] to stop rejecting."""
        if isinstance(addresses, str):
            addresses = [addresses]
        rejected = {a for address in addresses for a in _addr_specs(address)}
        with self._lock:
            self._rejected = rejected

    def search_outbound(self, query: dict[str, list[str]]) -> dict[str, Any]:
        """What Postmark's outbound message search answers, over the accepted messages."""
        wanted = {k[len("metadata_"):]: v[0] for k, v in query.items() if k.startswith("metadata_")}
        recipient = (query.get("recipient") or [""])[0].lower()
        with self._lock:
            found = [
                m for m in self._messages
                if all(str((m.metadata or {}).get(k)) == v for k, v in wanted.items())
                and (not recipient or recipient in m.recipients)
            ]
        return {"TotalCount": len(found), "Messages": [
            {"MessageID": m.message_id, "To": [{"Email": r} for r in m.recipients],
             "Recipients": m.recipients, "Subject": m.subject, "Metadata": m.metadata or {}, "Status": "Sent"}
            for m in found
        ]}

    def reset_faults(self) -> None:
        """Turn every fault off (recordings are kept)."""
        with self._lock:
            self._fail_next = 0
            self._fail_next_status = 500
            self._fail_next_retry_after = None
            self._fail_ratio = 0.0
            self._fail_ratio_status = 500
            self._fail_ratio_retry_after = None
            self._fail_ratio_rng = random.Random(0)
            self._accept_then_fail = 0
            self._accept_then_fail_status = 500
            self._delay_next = 0
            self._delay_next_seconds = 0.0
            self._delay = 0.0
            self._rejected: set[str] = set()

    @staticmethod
    def _check_error_status(status: int) -> None:
        if not 400 <= status <= 599:
            raise ValueError(f"an injected failure needs a 4xx/5xx status, not {status}")

    # ----------------------------------------------------------------- internals
    # Called from handler threads.

    def _connection_accepted(self) -> None:
        with self._lock:
            self._connection_count += 1

    def _note_request(self) -> None:
        with self._lock:
            self._request_times.append(time.monotonic())

    def _sleep(self, seconds: float) -> None:
        self._stopping.wait(seconds)

    def _handle_post(self, path: str, token: str | None, body: bytes):
        """Decide the answer to one POST.  Returns (status, json, headers, delay)."""
        endpoint = path.strip("/")
        if endpoint not in ("email", "email/batch"):
            return 404, {"ErrorCode": 404, "Message": f"Unknown endpoint /{endpoint}"}, {}, 0
        # Authentication comes first and consumes no injected fault (as a real ESP
        # would refuse before doing anything else).
        if token != self.token:
            return 401, _error_body(401), {}, 0

        try:
            data = json.loads(body)
        except ValueError:
            data = None
        batch = endpoint == "email/batch"
        if batch:
            valid = isinstance(data, list) and all(isinstance(d, dict) for d in data)
        else:
            valid = isinstance(data, dict)
        if not valid:
            return 422, {"ErrorCode": 402, "Message": "Received invalid JSON input."}, {}, 0

        with self._lock:
            # Delays apply to every answer below, injected failures included.
            if self._delay_next > 0:
                self._delay_next -= 1
                delay = self._delay_next_seconds
            else:
                delay = self._delay

            # 1. fail_next, 2. fail_ratio: refuse without accepting anything.
            failure = None
            if self._fail_next > 0:
                self._fail_next -= 1
                failure = (self._fail_next_status, self._fail_next_retry_after)
            elif self._fail_ratio > 0 and self._fail_ratio_rng.random() < self._fail_ratio:
                failure = (self._fail_ratio_status, self._fail_ratio_retry_after)
            if failure is not None:
                status, retry_after = failure
                headers = {} if retry_after is None else {"Retry-After": str(retry_after)}
                return status, _error_body(status), headers, delay

            # 3. Accept (minus inactive recipients) and record.
            now = time.monotonic()
            items = data if batch else [data]
            results = [self._accept_one(item, endpoint, now) for item in items]

            # 4. accept_then_fail_next: recorded above, but the answer is an error.
            if self._accept_then_fail > 0:
                self._accept_then_fail -= 1
                status = self._accept_then_fail_status
                return status, _error_body(status), {}, delay

        if batch:
            # Postmark answers a batch with 200 and per-item results, errors included.
            return 200, [result for result, _ok in results], {}, delay
        result, ok = results[0]
        return (200 if ok else 422), result, {}, delay

    def _accept_one(self, item: dict, endpoint: str, now: float) -> tuple[dict, bool]:
        """Record one message unless all its To addresses are inactive (lock held).
        Returns (Postmark result object, accepted?)."""
        to = item.get("To") or ""
        to_addrs = _addr_specs(to)
        inactive = [addr for addr in to_addrs if addr in self._rejected]
        if to_addrs and len(inactive) == len(to_addrs):
            message = INACTIVE_ALL_MESSAGE.format(addresses=", ".join(inactive))
            return {"ErrorCode": 406, "Message": message}, False

        message_id = str(uuid.uuid4())
        self._messages.append(
            ReceivedMessage(
                message_id=message_id,
                to=to,
                cc=item.get("Cc") or "",
                bcc=item.get("Bcc") or "",
                from_=item.get("From") or "",
                subject=item.get("Subject") or "",
                text_body=item.get("TextBody"),
                html_body=item.get("HtmlBody"),
                headers={h.get("Name", ""): h.get("Value", "") for h in item.get("Headers") or []},
                attachments=[_decode_attachment(a) for a in item.get("Attachments") or []],
                metadata=dict(item.get("Metadata") or {}),
                received_at=now,
                endpoint=endpoint,
                inactive=inactive,
                raw=item,
            )
        )
        result = {
            "SubmittedAt": datetime.now(UTC).isoformat(),
            "MessageID": message_id,
            "ErrorCode": 0,
            "Message": "OK",
        }
        if to:
            result = {"To": to, **result}  # anymail reads per-recipient status from "To"
        if inactive:
            result["Message"] = INACTIVE_SOME_MESSAGE.format(addresses=", ".join(inactive))
        return result, True


def _decode_attachment(att: dict) -> Attachment:
    try:
        content = base64.b64decode(att.get("Content") or "", validate=True)
    except (binascii.Error, ValueError):
        content = b""
    return Attachment(att.get("Name") or "", att.get("ContentType") or "", content)
