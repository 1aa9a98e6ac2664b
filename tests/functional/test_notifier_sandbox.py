"""The sandbox pieces the notifier runs on: SNS -> Lambda routing from template.yaml,
the webhook secret, and `LocalSlack` answering like Slack's webhook endpoint."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from driftguard_sandbox.sandbox import NO_SLACK_RECEIVER, Sandbox
from driftguard_sandbox.slack import LocalSlack, SlackReply

_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture
def receiver() -> Iterator[LocalSlack]:
    with LocalSlack() as slack:
        yield slack


def post(url: str, body: Any, timeout: float = 5) -> tuple[int, str, dict[str, str]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json"}
    )
    try:
        with _DIRECT.open(request, timeout=timeout) as response:
            return response.status, response.read().decode(), dict(response.headers.items())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), dict(error.headers.items())


def webhook_secret(sandbox: Sandbox) -> str:
    client = sandbox.session(sandbox.hub_account, "Admin").client("secretsmanager")
    arn = sandbox.specs["NotifierFunction"].environment["SLACK_WEBHOOK_SECRET_ARN"]
    return str(client.get_secret_value(SecretId=arn)["SecretString"])


def test_the_template_subscribes_the_notifier_to_the_alert_topic(sandbox: Sandbox) -> None:
    assert sandbox.router is not None
    subscribed = [(s.topic_arn, s.function.logical_id) for s in sandbox.router.subscriptions]
    assert subscribed == [(sandbox.hub.topic_arn, "NotifierFunction")]
    notifier = sandbox.specs["NotifierFunction"]
    assert notifier.dead_letter_arn == (
        "arn:aws:sqs:us-east-1:333333333333:driftguard-NotifierDeadLetterQueue"
    )


def test_messages_to_other_topics_reach_no_function(sandbox: Sandbox, receiver: LocalSlack) -> None:
    sandbox.use_slack(receiver)
    sns = sandbox.hub_client("sns")
    other = sns.create_topic(Name="someone-elses-topic")["TopicArn"]
    sns.publish(TopicArn=other, Message="{}")
    sandbox.wait_idle()
    assert [d for d in sandbox.deliveries if d.function == "NotifierFunction"] == []


def test_use_slack_puts_the_url_in_the_secret_and_reset_forgets_it(
    sandbox: Sandbox, receiver: LocalSlack
) -> None:
    assert webhook_secret(sandbox) == NO_SLACK_RECEIVER
    sandbox.use_slack(receiver)
    assert webhook_secret(sandbox) == receiver.url
    assert sandbox.slack is receiver

    sandbox.reset()
    assert sandbox.slack is None
    assert webhook_secret(sandbox) == NO_SLACK_RECEIVER


def text(kind: str, value: str) -> dict[str, str]:
    return {"type": kind, "text": value}


def test_local_slack_takes_what_slack_takes(receiver: LocalSlack) -> None:
    message = {"text": "hi", "blocks": [{"type": "section", "text": text("mrkdwn", "x")}]}
    assert post(receiver.url, message)[:2] == (200, "ok")
    assert receiver.messages == [message]
    assert receiver.take() == [message] and receiver.take() == []


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        (b"not json", "invalid_payload"),
        ({"blocks": []}, "no_text"),
        ({"text": "x", "blocks": [{"type": "divider"}] * 51}, "invalid_blocks"),
        (
            {"text": "x", "blocks": [{"type": "header", "text": text("plain_text", "h" * 151)}]},
            "invalid_blocks",
        ),
        (
            {"text": "x", "blocks": [{"type": "section", "text": text("mrkdwn", "s" * 3001)}]},
            "invalid_blocks",
        ),
    ],
)
def test_local_slack_refuses_what_slack_refuses(
    receiver: LocalSlack, body: Any, answer: str
) -> None:
    assert post(receiver.url, body)[:2] == (400, answer)
    assert receiver.messages == []


def test_local_slack_plays_its_script_then_the_default(receiver: LocalSlack) -> None:
    receiver.script(SlackReply.rate_limited(retry_after=7), SlackReply.server_error(503))
    first = post(receiver.url, {"text": "1"})
    assert first[:2] == (429, "rate_limited") and first[2]["Retry-After"] == "7"
    assert post(receiver.url, {"text": "2"})[:2] == (503, "internal_error")
    assert post(receiver.url, {"text": "3"})[:2] == (200, "ok")
    receiver.always(SlackReply.no_service())
    assert post(receiver.url, {"text": "4"})[:2] == (404, "no_service")
    assert [p.status for p in receiver.posts] == [429, 503, 200, 404]


def test_local_slack_knows_only_its_own_webhook(receiver: LocalSlack) -> None:
    wrong = receiver.url.rsplit("/", 1)[0] + "/not-the-token"
    assert post(wrong, {"text": "x"})[:2] == (404, "no_service")


def test_local_slack_can_hang_past_the_clients_timeout(receiver: LocalSlack) -> None:
    receiver.script(SlackReply.hang(5))
    with pytest.raises(TimeoutError):
        post(receiver.url, {"text": "x"}, timeout=0.3)
    assert len(receiver.posts) == 1 and not receiver.posts[0].delivered
