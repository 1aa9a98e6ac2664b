"""What SNS hands a subscribed Lambda function: one message as the event Lambda gets.

Kept apart from `aws_gaps` (which needs moto) so that tests can build a real-shaped
SNS event without starting anything.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

Event = dict[str, Any]


@dataclass(frozen=True)
class SnsPublish:
    """Behaviour 6: one message SNS accepted for a topic (`Publish`)."""

    topic_arn: str
    message_id: str
    message: str
    subject: str | None
    # name -> {"Type": DataType, "Value": string or base64}, as subscribers see them
    attributes: dict[str, dict[str, str]]
    timestamp: datetime

    @property
    def region(self) -> str:
        return self.topic_arn.split(":")[3]

    def lambda_event(self, subscription_arn: str) -> Event:
        """The event SNS invokes a subscribed function with: always one record.

        The signature fields have their real shape but sign nothing (nobody
        verifies a Lambda event's signature; SNS checked the publisher)."""
        endpoint = f"https://sns.{self.region}.amazonaws.com"
        digest = hashlib.sha256(f"{self.message_id}{self.message}".encode()).digest()
        moment = self.timestamp.astimezone(UTC)
        millis = moment.microsecond // 1000
        return {
            "Records": [
                {
                    "EventSource": "aws:sns",
                    "EventVersion": "1.0",
                    "EventSubscriptionArn": subscription_arn,
                    "Sns": {
                        "Type": "Notification",
                        "MessageId": self.message_id,
                        "TopicArn": self.topic_arn,
                        "Subject": self.subject,
                        "Message": self.message,
                        "Timestamp": f"{moment:%Y-%m-%dT%H:%M:%S}.{millis:03d}Z",
                        "SignatureVersion": "1",
                        "Signature": base64.b64encode(digest).decode(),
                        "SigningCertUrl": f"{endpoint}/SimpleNotificationService-sandbox.pem",
                        "UnsubscribeUrl": (
                            f"{endpoint}/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                        ),
                        "MessageAttributes": self.attributes,
                    },
                }
            ]
        }
