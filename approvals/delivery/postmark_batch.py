"""Postmark's batch API through anymail: up to 500 complete, individual messages in one call.

anymail sends one EmailMessage per API call (its batch mode repeats one message
for several recipients, which cannot carry each recipient's own rendering). This
small adapter, in anymail's own style, builds every message with anymail's
PostmarkPayload, posts them together to /email/batch and reads Postmark's
per-item answers, so one refused recipient fails alone.
"""

from urllib.parse import urljoin

from anymail.backends.postmark import EmailBackend as PostmarkBackend
from anymail.message import AnymailRecipientStatus, AnymailStatus

# Postmark's documented maximum per batch call.
BATCH_LIMIT = 500
# Per-item codes that mean "this recipient is refused" rather than "this message is broken".
RECIPIENT_REFUSED = {300: "invalid", 406: "rejected"}


class BatchPayload:
    """Several PostmarkPayloads sent as one JSON list."""

    def __init__(self, payloads):
        self.payloads = payloads

    def get_request_params(self, api_url: str) -> dict:
        params = self.payloads[0].get_request_params(api_url)
        params["url"] = urljoin(api_url, "email/batch")
        params["data"] = self.payloads[0].serialize_json([payload.data for payload in self.payloads])
        return params


class EmailBackend(PostmarkBackend):
    batch_limit = BATCH_LIMIT

    def send_batch(self, messages) -> list[tuple[str, str, str]]:
        """Send the messages in one call; per message (status, esp message id, error text).

        Raises anymail's AnymailRequestsAPIError when the call as a whole fails.
        """
        payloads = []
        for message in messages:
            message.anymail_status = AnymailStatus()
            payloads.append(self.build_message_payload(message, self.send_defaults))
        batch = BatchPayload(payloads)
        response = self.post_to_esp(batch, messages[0])
        items = self.deserialize_json_response(response, batch, messages[0])
        results = [self._item_result(item) for item in items]
        for message, payload, (status, message_id, _error) in zip(messages, payloads, results, strict=True):
            message.anymail_status.set_recipient_status({
                to.addr_spec: AnymailRecipientStatus(message_id=message_id or None, status=status)
                for to in payload.to_emails
            })
        return results

    @staticmethod
    def _item_result(item: dict) -> tuple[str, str, str]:
        code = item.get("ErrorCode", 0)
        if code == 0:
            return "sent", item.get("MessageID", ""), ""
        return RECIPIENT_REFUSED.get(code, "failed"), "", f"{code}: {item.get('Message', '')}"
