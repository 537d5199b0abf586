"""A small authoritative DNS server on 127.0.0.1 for the sender-authentication tests (dnslib).

    with LocalDNS(zone_text) as dns:
        settings.MAILGUARD["DNS_NAMESERVERS"] = [dns.nameserver]

It answers from a zone file (unknown names: NXDOMAIN) in a thread of the test
process and counts the questions it was asked, so a test can see whether
MailGuard asked DNS at all. ``SilentDNS`` is a port that never answers: the
timeout path.
"""

import socket
import textwrap
import threading

from dnslib.server import DNSLogger, DNSServer
from dnslib.zoneresolver import ZoneResolver


class _CountingResolver(ZoneResolver):
    def __init__(self, zone: str):
        super().__init__(zone)
        self.questions: list[str] = []
        self._lock = threading.Lock()

    def resolve(self, request, handler):
        with self._lock:
            self.questions.append(str(request.q.qname))
        return super().resolve(request, handler)


class LocalDNS:
    def __init__(self, zone: str):
        self.resolver = _CountingResolver(textwrap.dedent(zone))
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self.server = DNSServer(self.resolver, address="127.0.0.1", port=0, logger=quiet)

    def __enter__(self) -> "LocalDNS":
        self.server.start_thread()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.stop()
        self.server.server.server_close()

    @property
    def nameserver(self) -> str:
        host, port = self.server.server.server_address
        return f"{host}:{port}"

    @property
    def questions(self) -> list[str]:
        return list(self.resolver.questions)


class SilentDNS:
    """A bound UDP port that reads nothing and answers nothing: every question times out."""

    def __enter__(self) -> "SilentDNS":
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.socket.bind(("127.0.0.1", 0))
        return self

    def __exit__(self, *exc_info) -> None:
        self.socket.close()

    @property
    def nameserver(self) -> str:
        host, port = self.socket.getsockname()
        return f"{host}:{port}"
