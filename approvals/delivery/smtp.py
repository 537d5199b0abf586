"""An SMTP relay backend that keeps, for every recipient, the server's answer and the phase it came in.

Django's SMTP backend raises one exception per message and cannot say whether the
end of DATA had left when a session dropped, yet that one fact decides between
"safe to send again" and "the relay may already have it". This backend runs the
transaction step by step on stdlib ``smtplib`` and reports what happened
(``Answer``: phase, reply code, text); ``sender`` turns that into ledger outcomes.

A backend instance is one session, opened by the engine for a claimed batch and
reused for every message in it: RSET before each further message (which also
proves the session is still alive before anything of the message is sent),
a new session after ``MESSAGES_PER_CONNECTION`` messages, and one immediate
reconnect when the relay says 421 or the session drops before the end of DATA.
Once the end of DATA has left, the message is never sent again by this code.
"""

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
        # How many sessions this backend opened (the first and every reconnect).
        self.sessions_opened = 0

    # --- the session -------------------------------------------------------------------

    def open(self) -> bool:
        """Open a session unless one is open; raises SessionFailed (a subclass of OSError)."""
        if self.session is not None:
            return False
        self.session = self._connect()
        self.transactions_on_session = 0
        self.sessions_opened += 1
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
        envelope_from = sanitize_address(message.from_email, encoding)
        envelope_to = {address: sanitize_address(address, encoding) for address in recipients}
        payload = _dot_stuffed(message.message().as_bytes(linesep="\r\n"))
        try:
            return self._transaction(envelope_from, envelope_to, payload)
        except _SessionLost:
            # Nothing of this message was accepted: once more on a fresh session.
            pass
        try:
            return self._transaction(envelope_from, envelope_to, payload)
        except _SessionLost as lost:
            return dict.fromkeys(recipients, lost.answer)

    def _ready_session(self) -> smtplib.SMTP:
        if self.session is not None and self.transactions_on_session >= self.messages_per_connection:
            self.close()
        if self.session is None:
            self.open()
        elif self.transactions_on_session:
            self._command(Phase.MAIL, "RSET")
        self.transactions_on_session += 1
        return self.session

    def _transaction(self, envelope_from: str, envelope_to: dict[str, str], payload: bytes) -> dict[str, Answer]:
        session = self._ready_session()
        mail_options = ["BODY=8BITMIME"] if session.has_extn("8bitmime") else []
        code, text = self._command(Phase.MAIL, "MAIL", f"FROM:{smtplib.quoteaddr(envelope_from)}",
                                   *mail_options)
        if not _positive(code):
            return dict.fromkeys(envelope_to, Answer(Phase.MAIL, code, text))
        answers = {address: Answer(Phase.RCPT, *self._command(Phase.RCPT, "RCPT", f"TO:{smtplib.quoteaddr(rcpt)}"))
                   for address, rcpt in envelope_to.items()}
        taken = [address for address, answer in answers.items() if _positive(answer.code)]
        if not taken:
            return answers
        code, text = self._command(Phase.DATA, "DATA")
        if code != 354:
            return {**answers, **dict.fromkeys(taken, Answer(Phase.DATA, code, text))}
        final = self._end_of_data(payload)
        return {**answers, **dict.fromkeys(taken, final)}

    def _command(self, phase: Phase, verb: str, *args: str) -> tuple[int, str]:
        """One command and its answer; 421 or a dropped session raises _SessionLost."""
        try:
            code, reply = self.session.docmd(verb, " ".join(args))
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            self._drop()
            raise _SessionLost(Answer(phase, None, str(err) or type(err).__name__)) from err
        except smtplib.SMTPResponseException as err:
            code, reply = err.smtp_code, err.smtp_error
        if code == CLOSING:
            self._drop()
            raise _SessionLost(Answer(phase, code, _text(reply)))
        return code, _text(reply)

    def _end_of_data(self, payload: bytes) -> Answer:
        session = self.session
        try:
            session.sock.settimeout(self.data_timeout)
            session.send(payload)
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            # sendall() failed, so the final "." never fully left: the relay cannot have ended DATA.
            self._drop()
            raise _SessionLost(Answer(Phase.DATA, None, str(err) or type(err).__name__)) from err
        # From here on the relay may hold the message, whatever happens next.
        try:
            code, reply = session.getreply()
            session.sock.settimeout(self.timeout)
        except (smtplib.SMTPServerDisconnected, OSError) as err:
            self._drop()
            return Answer(Phase.END_OF_DATA, None, str(err) or type(err).__name__)
        except smtplib.SMTPResponseException as err:
            self._drop()
            return Answer(Phase.END_OF_DATA, err.smtp_code, _text(err.smtp_error))
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
