"""An SMTP relay backend that keeps, for every recipient, the server's answer and the phase it came in.

Django's SMTP backend raises one exception per message and cannot say whether the
end of DATA had left when a session dropped, yet that one fact decides between
"safe to send again" and "the relay may already have it". This backend runs the
transaction step by step on stdlib ``smtplib`` and reports what happened
(``Answer``: phase, reply code, text); ``sender`` turns that into ledger outcomes.

A backend instance is one session, opened by the engine for a claimed batch and
reused for every message in it: RSET before each further message (which also
proves the session is still alive before anything of the message is sent),
RSET, MAIL, RCPT and DATA in one write when the relay offers PIPELINING,
a new session after ``MESSAGES_PER_CONNECTION`` messages, and one immediate
reconnect when the relay says 421 or the session drops before the end of DATA.
Once the end of DATA has left, the message is never sent again by this code.
"""

import functools
import re
import smtplib
import ssl
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import sanitize_address
from django.core.mail.utils import DNS_NAME

from .wire import message_bytes

# "Service not available, closing transmission channel": the session is over.
CLOSING = 421


class Phase(StrEnum):
    CONNECT = "connect"  # TCP, the greeting, EHLO
    TLS = "tls"  # STARTTLS or the implicit TLS handshake, with the certificate check
    AUTH = "auth"
    MAIL = "mail"  # RSET and MAIL FROM
    RCPT = "rcpt"
    DATA = "data"  # the DATA command and the message itself, before its end has left
    END_OF_DATA = "end_of_data"  # the final "." has left: the relay may have the message


@dataclass(frozen=True)
class Answer:
    """What the relay said about one recipient of one message, and when."""

    phase: Phase
    # None: no answer at all (refused connection, timeout, dropped session).
    code: int | None = None
    text: str = ""

    @property
    def accepted(self) -> bool:
        return self.phase == Phase.END_OF_DATA and _positive(self.code)

    def __str__(self) -> str:
        said = f"{self.code} {self.text}" if self.code is not None else (self.text or "no answer")
        return f"SMTP {self.phase}: {said}".strip()


class SessionFailed(smtplib.SMTPException):
    """No usable session: nothing of any message was sent."""

    def __init__(self, phase: Phase, code: int | None, text: str):
        super().__init__(str(Answer(phase, code, text)))
        self.answer = Answer(phase, code, text)


class IncompatibleRelay(SessionFailed):
    """The relay and these settings cannot work together: trying again cannot help, a person must act."""


class CertificateRefused(IncompatibleRelay):
    """The relay's TLS certificate did not verify (wrong CA, wrong name, expired)."""


class TLSNotOffered(IncompatibleRelay):
    """TLS was required and the relay does not offer STARTTLS: never fall back to plain text."""


class AuthNotOffered(IncompatibleRelay):
    """A user is configured and the relay offers no AUTH (on this connection)."""


class MessageRefused(smtplib.SMTPException):
    """For Django's ``send_messages``: the relay did not accept a message for every recipient."""


class _SessionLost(Exception):
    """421 or a dropped session before the end of DATA: nothing was accepted, a new session may retry."""

    def __init__(self, answer: Answer):
        self.answer = answer


class EmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **overrides):
        super().__init__(fail_silently=fail_silently)
        config = {**settings.MAILGUARD_SMTP, **{key.upper(): value for key, value in overrides.items()}}
        self.host = config["HOST"]
        self.port = int(config["PORT"])
        self.security = config["SECURITY"]
        self.user = config["USER"]
        self.password = config["PASSWORD"]
        self.ca_file = config["CA_FILE"]
        self.timeout = float(config["TIMEOUT"])
        self.data_timeout = float(config["DATA_TIMEOUT"])
        self.messages_per_connection = max(1, int(config["MESSAGES_PER_CONNECTION"]))
        if self.user and self.security == "none":
            raise ImproperlyConfigured("MAILGUARD_SMTP_USER needs MAILGUARD_SMTP_SECURITY starttls or tls: "
                                       "a password is never sent in plain text.")
        self.session: smtplib.SMTP | None = None
        self.transactions_on_session = 0

    # --- the session -------------------------------------------------------------------

    def open(self) -> bool:
        """Open a session unless one is open; raises SessionFailed (a subclass of OSError)."""
        if self.session is not None:
            return False
        self.session = self._connect()
        self.transactions_on_session = 0
        return True

    def close(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        try:
            session.quit()
        except (smtplib.SMTPException, OSError):
            session.close()

    def _drop(self) -> None:
        """Forget a session that is dead or must not be used again, without talking to it."""
        session, self.session = self.session, None
        if session is not None:
            session.close()

    def _connect(self) -> smtplib.SMTP:
        phase = Phase.TLS if self.security == "tls" else Phase.CONNECT
        session = None
        try:
            session = self._socket_session()
            session.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                phase = Phase.TLS
                if not session.has_extn("starttls"):
                    raise TLSNotOffered(phase, None, "the relay does not offer STARTTLS")
                session.starttls(context=self._tls_context())
                session.ehlo_or_helo_if_needed()
            if self.user:
                phase = Phase.AUTH
                if not session.has_extn("auth"):
                    raise AuthNotOffered(phase, None, "the relay does not offer AUTH")
                session.login(self.user, self.password)
            return session
        except SessionFailed:
            _close_quietly(session)
            raise
        except ssl.SSLCertVerificationError as err:
            _close_quietly(session)
            raise CertificateRefused(phase, None, "the relay's certificate is not trusted: "
                                     + (err.verify_message or str(err))) from err
        except smtplib.SMTPResponseException as err:
            _close_quietly(session)
            raise SessionFailed(phase, err.smtp_code, _text(err.smtp_error)) from err
        except (smtplib.SMTPException, OSError) as err:
            _close_quietly(session)
            raise SessionFailed(phase, None, str(err) or type(err).__name__) from err

    def _socket_session(self) -> smtplib.SMTP:
        options = {"local_hostname": DNS_NAME.get_fqdn(), "timeout": self.timeout}
        if self.security == "tls":
            return smtplib.SMTP_SSL(self.host, self.port, context=self._tls_context(), **options)
        return smtplib.SMTP(self.host, self.port, **options)

    def _tls_context(self) -> ssl.SSLContext:
        # Hostname and chain are always checked; a private relay brings its own CA file.
        return ssl.create_default_context(cafile=self.ca_file or None)

    # --- one message ---------------------------------------------------------------------

    def send_envelope(self, message, recipients: list[str]) -> dict[str, Answer]:
        """Send ``message`` to exactly these envelope recipients; the relay's answer for each.

        The envelope, not the headers, decides who receives it: a shared message's To
        shows everyone, but only the given recipients are asked for. Raises SessionFailed
        when no session can be had (nothing was sent).
        """
        encoding = message.encoding or settings.DEFAULT_CHARSET
        envelope_from = _envelope_path(message.from_email, encoding)
        envelope_to = {address: _envelope_path(address, encoding) for address in recipients}
        payload = _dot_stuffed(message_bytes(message))
        try:
            return self._transaction(envelope_from, envelope_to, payload)
        except _SessionLost:
            # Nothing of this message was accepted: once more on a fresh session.
            pass
        try:
            return self._transaction(envelope_from, envelope_to, payload)
        except _SessionLost as lost:
            return dict.fromkeys(recipients, lost.answer)

    def _ready_session(self) -> tuple[smtplib.SMTP, bool]:
        """The session for the next message, and whether it must be reset (RSET) first."""
        if self.session is not None and self.transactions_on_session >= self.messages_per_connection:
            self.close()
        if self.session is None:
            self.open()
        reset = self.transactions_on_session > 0
        self.transactions_on_session += 1
        return self.session, reset

    def _transaction(self, envelope_from: str, envelope_to: dict[str, str], payload: bytes) -> dict[str, Answer]:
        session, reset = self._ready_session()
        mail_options = " BODY=8BITMIME" if session.has_extn("8bitmime") else ""
        commands = [("RSET", Phase.MAIL)] if reset else []
        commands.append((f"MAIL FROM:{envelope_from}{mail_options}", Phase.MAIL))
        commands.extend((f"RCPT TO:{rcpt}", Phase.RCPT) for rcpt in envelope_to.values())
        commands.append(("DATA", Phase.DATA))
        replies = self._envelope_replies(commands, pipelined=session.has_extn("pipelining"))
        if reset:
            replies.pop(0)
        mail, rcpts, data = replies[0], replies[1:1 + len(envelope_to)], replies[1 + len(envelope_to):]
        if not _positive(mail[0]):
            self._end_unwanted_data(data)
            return dict.fromkeys(envelope_to, Answer(Phase.MAIL, *mail))
        answers = {address: Answer(Phase.RCPT, *reply) for address, reply in zip(envelope_to, rcpts, strict=False)}
        taken = [address for address, answer in answers.items() if _positive(answer.code)]
        if not taken:
            self._end_unwanted_data(data)
            return answers
        [(code, text)] = data
        if code != 354:
            return {**answers, **dict.fromkeys(taken, Answer(Phase.DATA, code, text))}
        final = self._end_of_data(payload)
        return {**answers, **dict.fromkeys(taken, final)}

    def _envelope_replies(self, commands: list[tuple[str, Phase]], *, pipelined: bool) -> list[tuple[int, str]]:
        """RSET, MAIL, RCPT and DATA: all in one write when the relay offers PIPELINING (RFC 2920),
        else one by one, stopping where the transaction cannot go on."""
        if pipelined:
            self._put("".join(f"{line}\r\n" for line, _phase in commands), commands[0][1])
            return [self._reply(phase) for _line, phase in commands]
        replies = []
        for line, phase in commands:
            if phase == Phase.DATA and not any(
                    _positive(code) for (code, _text), (_line, asked) in zip(replies, commands, strict=False)
                    if asked == Phase.RCPT):
                break  # nobody to send to
            self._put(f"{line}\r\n", phase)
            replies.append(self._reply(phase))
            if line.startswith("MAIL") and not _positive(replies[-1][0]):
                break  # the sender was refused: no transaction
        return replies

    def _end_unwanted_data(self, data_reply: list[tuple[int, str]]) -> None:
        """A pipelined DATA that was accepted although nobody can receive: end it empty (RFC 2920 3.1)."""
        if data_reply and data_reply[0][0] == 354:
            self._put(".\r\n", Phase.DATA)
            self._reply(Phase.DATA)

    def _put(self, text: str, phase: Phase) -> None:
        try:
            self.session.send(text)
        except OSError as err:
            self._drop()
            raise _SessionLost(Answer(phase, None, str(err) or type(err).__name__)) from err

    def _reply(self, phase: Phase) -> tuple[int, str]:
        """The next answer; 421 or a dropped session raises _SessionLost (nothing was accepted)."""
        try:
            code, reply = self.session.getreply()
        except smtplib.SMTPResponseException as err:
            code, reply = err.smtp_code, err.smtp_error
        except OSError as err:
            self._drop()
            raise _SessionLost(Answer(phase, None, str(err) or type(err).__name__)) from err
        if code == CLOSING:
            self._drop()
            raise _SessionLost(Answer(phase, code, _text(reply)))
        return code, _text(reply)

    def _end_of_data(self, payload: bytes) -> Answer:
        session = self.session
        try:
            session.sock.settimeout(self.data_timeout)
            session.send(payload)
        except OSError as err:
            # sendall() failed, so the final "." never fully left: the relay cannot have ended DATA.
            self._drop()
            raise _SessionLost(Answer(Phase.DATA, None, str(err) or type(err).__name__)) from err
        # From here on the relay may hold the message, whatever happens next.
        try:
            code, reply = session.getreply()
            session.sock.settimeout(self.timeout)
        except smtplib.SMTPResponseException as err:
            self._drop()
            return Answer(Phase.END_OF_DATA, err.smtp_code, _text(err.smtp_error))
        except OSError as err:
            self._drop()
            return Answer(Phase.END_OF_DATA, None, str(err) or type(err).__name__)
        if code == CLOSING:
            self._drop()
        return Answer(Phase.END_OF_DATA, code, _text(reply))

    # --- Django's interface ------------------------------------------------------------

    def send_messages(self, email_messages) -> int:
        """Django's contract (for proofs, admin mail): the number accepted; raises unless fail_silently."""
        if not email_messages:
            return 0
        opened = self.session is None
        sent = 0
        try:
            for message in email_messages:
                answers = self.send_envelope(message, message.recipients())
                if answers and all(answer.accepted for answer in answers.values()):
                    sent += 1
                elif not self.fail_silently:
                    raise MessageRefused("; ".join(f"{rcpt}: {answer}" for rcpt, answer in answers.items()))
        except SessionFailed:
            if not self.fail_silently:
                raise
        finally:
            if opened:
                self.close()
        return sent


_PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9.-]+")


@functools.lru_cache(maxsize=1024)
def _envelope_path(address: str, encoding: str) -> str:
    """``<address>`` as MAIL FROM and RCPT TO need it; plain ASCII addresses (nearly all) skip the parsers."""
    if _PLAIN_ADDRESS.fullmatch(address):
        return f"<{address}>"
    return smtplib.quoteaddr(sanitize_address(address, encoding))


def _positive(code: int | None) -> bool:
    return code is not None and 200 <= code < 300


def _text(reply) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)).replace("\n", " ")[:500]


def _close_quietly(session: smtplib.SMTP | None) -> None:
    if session is not None:
        session.close()


def _dot_stuffed(message: bytes) -> bytes:
    """The DATA payload: leading dots doubled (RFC 5321 4.5.2), ending in CRLF "." CRLF."""
    body = re.sub(rb"(?m)^\.", b"..", message)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body + b".\r\n"
