"""What the reply tests share: a clinic with an on-call clinician and a backup, and a phone that
plays Twilio, posting signed inbound webhooks as the patient (or anyone)."""

from __future__ import annotations

import uuid

from twilio.request_validator import RequestValidator

from tests.helpers import TWILIO_TOKEN

PUBLIC = "https://clinic.example.com"
ON_CALL = "+12025550181"
BACKUP = "+12025550182"
EXTRA = f"""
[web]
public_base_url = "{PUBLIC}"
[escalation]
ack_minutes = 15
[[escalation.on_call]]
name = "Dr Rivera"
phone = "{ON_CALL}"
email = "oncall@clinic.example"
[[escalation.backup]]
name = "Manager"
phone = "{BACKUP}"
"""
PATIENT_PHONE = "+12025550143"


class Phone:
    """Plays Twilio: posts signed inbound webhooks as the patient (or anyone)."""

    def __init__(self, client, sender=PATIENT_PHONE):
        self.client = client
        self.sender = sender
        self.n = 0

    def text(self, body, *, sid=None, opt_out_type=None, signature=None, tamper=None):
        self.n += 1
        params = {
            "MessageSid": sid or "SM" + uuid.uuid4().hex,
            "From": self.sender,
            "To": "+12025550100",
            "Body": body,
            "NumMedia": "0",
        }
        if opt_out_type:
            params["OptOutType"] = opt_out_type
        sig = (
            signature
            if signature is not None
            else RequestValidator(TWILIO_TOKEN).compute_signature(f"{PUBLIC}/twilio/inbound", params)
        )
        if tamper:
            params.update(tamper)
        headers = {"X-Twilio-Signature": sig} if sig else {}
        return self.client.post("/twilio/inbound", data=params, headers=headers)
