"""`Sandbox`: the local multi-account AWS the tests and the demo run on.

One moto server on 127.0.0.1 (with the behaviours moto lacks added by
`aws_gaps`), the hub stack deployed from template.yaml's own resource
definitions, the remediation role in every account (as the spoke stack would
create it), and an event router delivering CloudTrail events to the handlers.

The process environment is pointed at the sandbox as a hub function's would be
(endpoint, region, assumed-role credentials of the functions' role, the
template's Globals environment), so code that builds clients from the default
credential chain, including the CLI, works unchanged; `stop()` restores it.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Final, TextIO
from unittest import mock

import boto3
from botocore.exceptions import ClientError
from botocore.retries.standard import ExponentialBackoff

from driftguard.aws import new_session
from driftguard_sandbox.chaos import Fault
from driftguard_sandbox.clock import SandboxTime
from driftguard_sandbox.meter import Meter
from driftguard_sandbox.queues import QueueSource
from driftguard_sandbox.router import (
    Delivery,
    DeliveryChaos,
    Event,
    Invoker,
    Router,
    Subscription,
)
from driftguard_sandbox.runtime import LambdaRuntime
from driftguard_sandbox.server import MotoServer
from driftguard_sandbox.slack import LocalSlack
from driftguard_sandbox.sns import SnsPublish
from driftguard_sandbox.stable_ids import pin_key_id, pin_stream_label
from driftguard_sandbox.streams import StreamSource
from driftguard_sandbox.template import (
    SLACK_WEBHOOK_SECRET_NAME,
    STREAM_LABEL,
    FunctionSpec,
    ResolveContext,
    RuleSpec,
    Template,
    TemplateError,
    function_specs,
    globals_environment,
    load_template,
    operator_parameters,
    resolve,
)

__all__ = ["HubStack", "Sandbox", "find_template"]

FUNCTIONS_ROLE: Final = "driftguard-functions"
FUNCTIONS_SESSION: Final = "driftguard"
BOOTSTRAP_KEY: Final = "sandbox-bootstrap"  # unknown to moto: only used to call AssumeRole
SESSION_SECONDS: Final = 43200
NO_SLACK_RECEIVER: Final = "http://127.0.0.1:9/no-slack-receiver"
LAMBDA_TRUST: Final = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
)
# CloudFormation SQS properties that are queue attributes under the same name.
# The sweep: its planner (on a schedule) and the workers its queue feeds.
RECONCILER: Final = "ReconcilerFunction"
SWEEP_WORKER: Final = "SweepWorkerFunction"
_SQS_ATTRIBUTES: Final = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "SqsManagedSseEnabled",
    "RedrivePolicy",
)
_ALREADY_EXISTS: Final = frozenset(
    {"ResourceInUseException", "EntityAlreadyExists", "ResourceAlreadyExistsException"}
)


def find_template(start: Path | None = None) -> Path:
    """template.yaml found walking up from this package, then from the cwd."""
    for origin in (start or Path(__file__).resolve().parent, Path.cwd()):
        for directory in (origin, *origin.parents):
            candidate = directory / "template.yaml"
            if candidate.is_file():
                return candidate
    raise FileNotFoundError("template.yaml not found above the package or the cwd")


@dataclass(frozen=True)
class HubStack:
    """Physical resources of the deployed hub stack."""

    table_name: str
    topic_arn: str
    dlq_url: str
    bus_name: str
    physical_ids: dict[str, str]
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)


class Sandbox(AbstractContextManager["Sandbox"]):
    """Local multi-account AWS; build it with `Sandbox.start()`."""

    def __init__(
        self,
        *,
        hub_account: str,
        member_accounts: Sequence[str],
        region: str,
        template_path: Path,
        propagation_delay: float,
        parameters: Mapping[str, Any],
        env_overrides: Mapping[str, str] | None = None,
        function_logs: TextIO | None = None,
        time_scale: float = 1.0,
    ) -> None:
        self.hub_account = hub_account
        self.member_accounts = tuple(member_accounts)
        self.region = region
        self.template_path = template_path
        self.template: Template = load_template(template_path)
        self.parameters = dict(parameters)
        self._webhook_secret_given = "SlackWebhookSecretArn" in self.parameters
        # Where the notifier posts; nothing listens there unless a test or the
        # demo starts a local receiver and sets it.
        self.slack_webhook_url = NO_SLACK_RECEIVER
        self.slack: LocalSlack | None = None  # see `use_slack`
        self.env_overrides = dict(env_overrides or {})
        self._initial_delay = propagation_delay
        self._initial_scale = time_scale
        self.time = SandboxTime(time_scale)  # the pace of AWS's waits (see `clock`)
        self.server = MotoServer()
        self.server.gaps.time = self.time
        self.runtime = LambdaRuntime(
            account_id=hub_account, region=region, log_stream=function_logs
        )
        # Every variable the sandbox sets or removes is put back by stop().
        self._env = mock.patch.dict(os.environ)
        # Clients' retry backoff (botocore's standard mode) waits on the sandbox's time
        # too, so a test full of throttling stays fast; put back by stop().
        self._backoff = mock.patch.object(
            ExponentialBackoff, "delay_amount", _paced(ExponentialBackoff.delay_amount, self.time)
        )
        self._sessions: dict[tuple[str, str, str], boto3.Session] = {}
        self._clients: dict[tuple[int, str], Any] = {}
        self._bootstrap: Any = None
        self.stack: HubStack | None = None
        self.router: Router | None = None
        self._queue_sources: list[QueueSource] = []
        self._stream_sources: list[StreamSource] = []
        self._configured: dict[str, dict[str, str]] = {}  # logical id -> original env

    # -- lifecycle ------------------------------------------------------------
    @classmethod
    def start(
        cls,
        *,
        hub_account: str = "333333333333",
        member_accounts: Sequence[str] = ("111111111111", "222222222222"),
        region: str = "us-east-1",
        template: Path | None = None,
        propagation_delay: float = 0.0,
        parameters: Mapping[str, Any] | None = None,
        env_overrides: Mapping[str, str] | None = None,
        function_logs: TextIO | None = None,
        slack: LocalSlack | None = None,
        time_scale: float = 1.0,
    ) -> Sandbox:
        """Start the server, deploy the hub and point this process at it.

        `parameters` are template parameter values; `env_overrides` replace
        variables of every function's environment (and of this process), e.g. a
        shorter PROPAGATION_TIMEOUT_SECONDS for the demo; `function_logs` takes
        what the functions print (their CloudWatch Logs); `slack`, a started
        receiver, is where the notifier posts alerts (`use_slack`); `time_scale`
        is how many real seconds each AWS second of AWS's waits takes (`time`).
        """
        sandbox = cls(
            hub_account=hub_account,
            member_accounts=member_accounts,
            region=region,
            template_path=Path(template) if template else find_template(),
            propagation_delay=propagation_delay,
            parameters=parameters or {},
            env_overrides=env_overrides,
            function_logs=function_logs,
            time_scale=time_scale,
        )
        try:
            sandbox._boot()
            if slack is not None:
                sandbox.use_slack(slack)
        except BaseException:
            sandbox.stop()
            raise
        return sandbox

    def _boot(self) -> None:
        self._backoff.start()
        self.server.start()
        self.propagation_delay = self._initial_delay
        self._point_environment_at_server()
        self._bootstrap = new_session(
            aws_access_key_id=BOOTSTRAP_KEY,
            aws_secret_access_key=BOOTSTRAP_KEY,
            region_name=self.region,
        ).client("sts", endpoint_url=self.endpoint_url)
        self.stack = self.deploy_hub()
        self._use_functions_credentials()
        context = self.resolve_context()
        environment = {**globals_environment(self.template, context), **self.env_overrides}
        os.environ.update(environment)
        specs = [
            replace(spec, environment={**spec.environment, **self.env_overrides})
            for spec in function_specs(self.template, context)
        ]
        self.router = Router(
            specs,
            hub_account=self.hub_account,
            invoker=self.runtime.invoke,
            dead_letter=self._dead_letter,
            function_dead_letter=self._function_dead_letter,
            subscriptions=[
                Subscription(self.hub.physical_ids.get(topic, topic), spec)
                for spec in specs
                for topic in spec.sns_topics
            ],
            time=self.time,
        )
        self._queue_sources = [
            QueueSource(
                router=self.router,
                function=spec,
                queue_url=self.hub.physical_ids.get(queue, queue),
                region=self.region,
            )
            for spec in specs
            for queue in spec.sqs_queues
        ]
        self._stream_sources = [
            StreamSource(
                router=self.router,
                function=spec,
                stream=stream,
                table_name=self.hub.physical_ids[stream.table],
                stream_arn=self.hub.attributes[stream.table]["StreamArn"],
                account=self.hub_account,
                region=self.region,
                on_failure=self._send_to_destination,
            )
            for spec in specs
            for stream in spec.streams
        ]
        self.server.gaps.on_event = self.router.publish
        self.server.gaps.on_publish = self._on_publish
        boto3.DEFAULT_SESSION = None  # rebuilt from the environment set above

    def stop(self) -> None:
        """Stop delivering and serving; restore the environment this sandbox changed."""
        sources: list[QueueSource | StreamSource] = [*self._queue_sources, *self._stream_sources]
        for source in sources:
            source.stop()
        if self.router is not None:
            self.router.stop()
        self.server.gaps.on_event = None
        self.server.gaps.on_publish = None
        self.server.stop()
        self._env.stop()
        self._backoff.stop()
        boto3.DEFAULT_SESSION = None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def settle(self) -> None:
        """Nothing more happens in the background (scheduled re-checks, late
        deliveries) until the next `reset()`: a test is over."""
        self._require_router().drain()

    def reset(self) -> None:
        """A clean world: empty moto, clear state and records, redeploy hub and roles.

        Every AWS behaviour knob goes back to its initial value (the chaos ones
        off). STS sessions (and so the process credentials) stay valid across it, and so
        do the functions' warm containers: as in Lambda, a container outlives the
        events it handled, and everything it caches (clients, configuration) names
        what the redeploy recreates under the same names. `runtime.reset()` gives a
        cold start where a test needs one. The Slack receiver is forgotten (not
        stopped: its owner stops it), and the notifier with it.
        """
        router = self._require_router()
        router.drain()
        self.server.reset()
        self.propagation_delay = self._initial_delay
        self.time.scale = self._initial_scale
        self.server.gaps.chaos.reset()  # knobs off, faults cleared, before the redeploy
        self.meter.latency = 0.0
        self.meter.reset()  # what one test counted is not the next one's
        router.clear(self.runtime.invoke)
        self._restore_function_environments()
        if self.slack is not None:
            self.runtime.reset(*self._slack_readers())
        self.slack, self.slack_webhook_url = None, NO_SLACK_RECEIVER
        self.stack = self.deploy_hub()

    # -- environment ----------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        return self.server.url

    def _point_environment_at_server(self) -> None:
        self._env.start()
        for name in ("MOTO_ACCOUNT_ID", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            os.environ.pop(name, None)  # MOTO_ACCOUNT_ID would pin every account
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_DEFAULT_REGION": self.region,
                "AWS_REGION": self.region,
                "AWS_EC2_METADATA_DISABLED": "true",
                # No X-Ray daemon here; the Tracer would only warn about it.
                "POWERTOOLS_TRACE_DISABLED": "true",
            }
        )
        for name in ("NO_PROXY", "no_proxy"):
            existing = os.environ.get(name, "")
            os.environ[name] = ",".join(filter(None, [existing, "127.0.0.1", "localhost"]))

    def _use_functions_credentials(self) -> None:
        credentials = self.hub_session().get_credentials()
        if credentials is None:  # pragma: no cover - assume_role always returns them
            raise RuntimeError("no credentials for the hub functions' role")
        frozen = credentials.get_frozen_credentials()
        os.environ["AWS_ACCESS_KEY_ID"] = frozen.access_key
        os.environ["AWS_SECRET_ACCESS_KEY"] = frozen.secret_key
        os.environ["AWS_SESSION_TOKEN"] = frozen.token

    # -- identities -----------------------------------------------------------
    def session(
        self, account: str, role: str = "Admin", session_name: str = "alice"
    ) -> boto3.Session:
        """A person or service in `account`: credentials of an assumed role (cached).

        `role` is a role name (or a full role ARN). The role need not exist: moto
        lets any role be assumed, which is how accounts are told apart.
        """
        key = (account, role, session_name)
        if key not in self._sessions:
            role_arn = role if role.startswith("arn:") else f"arn:aws:iam::{account}:role/{role}"
            credentials = self._bootstrap.assume_role(
                RoleArn=role_arn, RoleSessionName=session_name, DurationSeconds=SESSION_SECONDS
            )["Credentials"]
            self._sessions[key] = new_session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
                region_name=self.region,
            )
        return self._sessions[key]

    def hub_session(self) -> boto3.Session:
        """The hub functions' role (what the handlers run as)."""
        return self.session(self.hub_account, FUNCTIONS_ROLE, FUNCTIONS_SESSION)

    def hub_client(self, service: str) -> Any:
        """A client as the hub functions' role, made once per sandbox."""
        return self._client(self.hub_session(), service)

    def _client(self, session: boto3.Session, service: str) -> Any:
        key = (id(session), service)
        if key not in self._clients:
            self._clients[key] = session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[key]

    # -- AWS behaviour knobs (waits in AWS seconds, at the pace of `time`) -----
    @property
    def propagation_delay(self) -> float:
        """AWS seconds before a new role or user is accepted as a policy principal."""
        return self.server.gaps.propagation_delay

    @propagation_delay.setter
    def propagation_delay(self, seconds: float) -> None:
        self.server.gaps.propagation_delay = float(seconds)

    @property
    def meter(self) -> Meter:
        """Every API call answered (`meter.calls()`, `meter.count()`), and `latency`:
        real seconds added to each, what a call to AWS costs (0: off; `reset()`
        turns it off)."""
        return self.server.gaps.meter

    @property
    def getrole_delay(self) -> float:
        """AWS seconds after CreateRole (CreateUser) during which GetRole (GetUser) of
        that name answers NoSuchEntity (IAM User Guide, troubleshooting, "Changes that
        I make are not always immediately visible"). 0: off."""
        return self.server.gaps.chaos.getrole_delay

    @getrole_delay.setter
    def getrole_delay(self, seconds: float) -> None:
        self.server.gaps.chaos.getrole_delay = float(seconds)

    @property
    def rewrite_delay(self) -> float:
        """AWS seconds after DeleteRole during which key, secret and trust policies
        still show the role's ARN, before the rewrite to its unique ID (same IAM
        troubleshooting section; IAM itself forgets the role at once). 0: at once."""
        return self.server.gaps.chaos.rewrite_delay

    @rewrite_delay.setter
    def rewrite_delay(self, seconds: float) -> None:
        self.server.gaps.chaos.rewrite_delay = float(seconds)

    @property
    def stale_reads(self) -> float:
        """AWS seconds after PutKeyPolicy (PutResourcePolicy) during which GetKeyPolicy
        (GetResourcePolicy) of that resource answers the policy it replaced (KMS API
        reference, PutKeyPolicy: "Eventual consistency"). 0: off."""
        return self.server.gaps.chaos.stale_reads

    @stale_reads.setter
    def stale_reads(self, seconds: float) -> None:
        self.server.gaps.chaos.stale_reads = float(seconds)

    @property
    def strict_policies(self) -> bool:
        """KMS's and Secrets Manager's put-time policy rules (KMS API reference,
        PutKeyPolicy `Policy`: LimitExceededException over 32,768 bytes,
        MalformedPolicyDocumentException for other characters or a statement without
        a principal, an explicit Deny failing the lockout check; Secrets Manager API
        reference, PutResourcePolicy: at most 20,480 characters, PublicPolicyException
        under BlockPublicPolicy). Off: moto's leniency."""
        return self.server.gaps.chaos.strict_policies

    @strict_policies.setter
    def strict_policies(self, on: bool) -> None:
        self.server.gaps.chaos.strict_policies = bool(on)

    def fail(
        self,
        service: str,
        operation: str = "*",
        *,
        error: str | None = None,
        status: int | None = None,
        message: str | None = None,
        times: int | None = None,
        rate: float | None = None,
        principal: str | None = None,
        resource: str | None = None,
        seed: int = 0,
    ) -> Fault:
        """Answer `service`'s `operation` calls (a name or pattern: "Put*") with an
        AWS error before moto sees them; the returned fault's `count` says how many.

        `error` defaults to the service's throttling code (`Throttling` for IAM, STS
        and SNS, else `ThrottlingException`); `status` to 500/503 for the Common
        Errors' InternalFailure-like/ServiceUnavailable codes, else 400. `times`
        fails only the first N matching calls; `rate` each with that probability
        (a `random.Random(seed)`: reproducible); `principal` only calls by that
        role (name or ARN) or user; `resource` only calls whose parameters name it
        (an ARN, key id or table key). The sandbox's own calls match too. Clients
        retry throttling and 5xx (AWS General Reference, "Error retries and
        exponential backoff in AWS"; botocore's `max_attempts` counts retries, so
        driftguard's 6 make 7 attempts): one failure then shows only in `count`.
        """
        return self.server.gaps.chaos.add(
            Fault(
                service,
                operation,
                error=error,
                status=status,
                message=message,
                times=times,
                rate=rate,
                principal=principal,
                resource=resource,
                seed=seed,
            )
        )

    def unreliable_delivery(
        self, *, duplicates: int = 0, max_delay: float = 0.0, seed: int = 0
    ) -> None:
        """EventBridge at its worst (at least once, late, in no particular order; EventBridge
        User Guide, "Event delivery"; CloudTrail User Guide, "CloudTrail concepts"):
        every delivery `duplicates` extra times, each copy up to `max_delay` AWS
        seconds late. `reset()` makes delivery reliable again."""
        self._require_router().chaos = DeliveryChaos(duplicates, max_delay, seed)

    def configure_functions(self, **variables: str) -> None:
        """Set these variables in every function's environment until `reset()`, as a
        stack update would, and cold-start the functions so their configuration
        (read once per container) sees them; e.g. waits to match a faster `time`."""
        for spec in self.specs.values():
            self._configured.setdefault(spec.logical_id, dict(spec.environment))
            spec.environment.update(variables)
        self.runtime.reset()

    def _restore_function_environments(self) -> None:
        if not self._configured:
            return
        for logical_id, environment in self._configured.items():
            spec = self.specs[logical_id]
            spec.environment.clear()
            spec.environment.update(environment)
        self._configured.clear()
        self.runtime.reset()

    def clear_faults(self) -> None:
        """No more injected failures (`reset()` clears them too)."""
        self.server.gaps.chaos.clear_faults()

    @contextmanager
    def events_paused(self) -> Iterator[None]:
        """Calls made inside produce no CloudTrail events (test setup)."""
        with self.server.gaps.paused():
            yield

    # -- deploy ---------------------------------------------------------------
    def resolve_context(self) -> ResolveContext:
        stack = self.stack
        return ResolveContext.for_template(
            self.template,
            account_id=self.hub_account,
            region=self.region,
            parameters=self.parameters,
            physical_ids=stack.physical_ids if stack else None,
            attributes=stack.attributes if stack else None,
        )

    def _deploy_prerequisites(self, deployer: boto3.Session) -> None:
        """What an operator creates before deploying the hub: the Slack webhook secret.

        Its ARN is kept stable across resets (a partial ARN, which Secrets Manager
        resolves), so the functions' environment stays valid."""
        if self._webhook_secret_given:
            return
        client = self._client(deployer, "secretsmanager")
        with self.events_paused():
            _tolerate_exists(
                lambda: client.create_secret(
                    Name=SLACK_WEBHOOK_SECRET_NAME, SecretString=self.slack_webhook_url
                )
            )
            client.put_secret_value(
                SecretId=SLACK_WEBHOOK_SECRET_NAME, SecretString=self.slack_webhook_url
            )
        self.parameters.update(operator_parameters(self.hub_account, self.region))
        # As an operator without an organization would: the member accounts by id.
        self.parameters.setdefault("MemberAccountIds", ",".join(self.member_accounts))

    def deploy_hub(self) -> HubStack:
        """Create the hub's tables, topics, queues and buses from the template.

        Names are the deterministic `driftguard-<LogicalId>` (or the name the
        resource gives itself). Other resource types are skipped and listed.
        Also creates the functions' role and the remediation role in every account.
        """
        deployer = self.session(self.hub_account, "Admin", "cloudformation")
        self._deploy_prerequisites(deployer)
        context = ResolveContext.for_template(
            self.template,
            account_id=self.hub_account,
            region=self.region,
            parameters=self.parameters,
        )
        refs, attrs = dict(context.physical_ids), dict(context.attributes)
        skipped: list[str] = []
        with self.events_paused():
            for logical_id, resource in (self.template.get("Resources") or {}).items():
                kind = resource.get("Type")
                deploy = {
                    "AWS::DynamoDB::Table": self._deploy_table,
                    "AWS::SNS::Topic": self._deploy_topic,
                    "AWS::SQS::Queue": self._deploy_queue,
                    "AWS::Events::EventBus": self._deploy_bus,
                    "AWS::KMS::Key": self._deploy_key,
                    "AWS::KMS::Alias": self._deploy_alias,
                }.get(kind)
                if deploy is None:
                    skipped.append(f"{logical_id} ({kind})")
                    continue
                props = resolve(resource.get("Properties") or {}, context)
                physical = deploy(deployer, refs[logical_id], attrs[logical_id], props)
                if physical:
                    # What later resources' `!Ref`s see, as in CloudFormation.
                    refs[logical_id] = context.physical_ids[logical_id] = physical
            self._deploy_roles()

        def first(kind: str) -> str:
            resources = self.template.get("Resources") or {}
            return next((refs[lid] for lid, r in resources.items() if r.get("Type") == kind), "")

        return HubStack(
            table_name=first("AWS::DynamoDB::Table"),
            topic_arn=first("AWS::SNS::Topic"),
            dlq_url=first("AWS::SQS::Queue"),
            bus_name=first("AWS::Events::EventBus"),
            physical_ids=refs,
            attributes=attrs,
            skipped=skipped,
        )

    def _deploy_table(
        self, deployer: boto3.Session, name: str, attrs: dict[str, str], props: dict[str, Any]
    ) -> str:
        client = self._client(deployer, "dynamodb")
        request: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PROVISIONED"),
        }
        for optional in (
            "GlobalSecondaryIndexes",
            "LocalSecondaryIndexes",
            "ProvisionedThroughput",
        ):
            if optional in props:
                request[optional] = props[optional]
        if "StreamSpecification" in props:
            request["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if _tolerate_exists(lambda: client.create_table(**request)):
            if "StreamSpecification" in props:
                pin_stream_label(self.hub_account, self.region, name, STREAM_LABEL)
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                client.update_time_to_live(
                    TableName=name,
                    TimeToLiveSpecification={
                        "AttributeName": ttl["AttributeName"],
                        "Enabled": bool(ttl.get("Enabled", True)),
                    },
                )
        return name

    def _deploy_key(
        self, deployer: boto3.Session, key_id: str, attrs: dict[str, str], props: dict[str, Any]
    ) -> str:
        """The key, under the id `default_physical_ids` gave it (moto picks a random one;
        a warm function's configuration names the key by ARN across resets). Its key
        policy is left out: moto does not enforce key policies, and the roles it names
        are not deployed here."""
        created = self._client(deployer, "kms").create_key(
            Description=str(props.get("Description", "")),
            KeySpec=str(props.get("KeySpec", "SYMMETRIC_DEFAULT")),
            KeyUsage=str(props.get("KeyUsage", "ENCRYPT_DECRYPT")),
        )["KeyMetadata"]
        pin_key_id(self.hub_account, self.region, created["KeyId"], key_id)
        return key_id

    def _deploy_alias(
        self, deployer: boto3.Session, name: str, attrs: dict[str, str], props: dict[str, Any]
    ) -> str:
        self._client(deployer, "kms").create_alias(
            AliasName=str(props["AliasName"]), TargetKeyId=str(props["TargetKeyId"])
        )
        return str(props["AliasName"])

    def _deploy_topic(
        self, deployer: boto3.Session, arn: str, attrs: dict[str, str], props: dict[str, Any]
    ) -> str:
        created = self._client(deployer, "sns").create_topic(Name=attrs["TopicName"])
        return str(created["TopicArn"])

    def _deploy_queue(
        self, deployer: boto3.Session, url: str, attrs: dict[str, str], props: dict[str, Any]
    ) -> str:
        attributes = {
            name: _queue_attribute(props[name]) for name in _SQS_ATTRIBUTES if name in props
        }
        created = self._client(deployer, "sqs").create_queue(
            QueueName=attrs["QueueName"], Attributes=attributes
        )
        return str(created["QueueUrl"])

    def _deploy_bus(
        self, deployer: boto3.Session, name: str, attrs: dict[str, str], props: dict[str, Any]
    ) -> str:
        client = self._client(deployer, "events")
        _tolerate_exists(lambda: client.create_event_bus(Name=name))
        return name

    def _deploy_roles(self) -> None:
        """The functions' execution role (hub) and the spoke remediation role everywhere."""
        remediation = str(
            self.resolve_context().parameters.get("RemediationRoleName", "driftguard-remediation")
        )
        functions_arn = f"arn:aws:iam::{self.hub_account}:role/{FUNCTIONS_ROLE}"
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": functions_arn},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
        self._create_role(self.hub_account, FUNCTIONS_ROLE, LAMBDA_TRUST)
        for account in (self.hub_account, *self.member_accounts):
            self._create_role(account, remediation, trust)

    def _create_role(self, account: str, name: str, trust: str) -> None:
        iam = self._client(self.session(account, "Admin", "cloudformation"), "iam")
        _tolerate_exists(lambda: iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust))
        self.server.gaps.mark_propagated(f"arn:aws:iam::{account}:role/{name}")

    # -- events and functions -------------------------------------------------
    def _require_router(self) -> Router:
        if self.router is None:
            raise RuntimeError("sandbox not started")
        return self.router

    @property
    def hub(self) -> HubStack:
        """The deployed hub stack (same as `stack`, never None once started)."""
        if self.stack is None:
            raise RuntimeError("sandbox not started")
        return self.stack

    @property
    def specs(self) -> dict[str, FunctionSpec]:
        return self._require_router().specs

    @property
    def deliveries(self) -> list[Delivery]:
        """Finished deliveries, in completion order."""
        return self._require_router().deliveries

    @property
    def events(self) -> list[Event]:
        """Every event synthesized or emitted since the last reset, matched or not."""
        return self._require_router().events

    @property
    def invoker(self) -> Invoker:
        """What deliveries call: `(FunctionSpec, event) -> result`; reset restores the real one."""
        return self._require_router().invoker

    @invoker.setter
    def invoker(self, invoker: Invoker) -> None:
        self._require_router().invoker = invoker

    def emit(self, event: Event) -> list[str]:
        """Route a ready-made event (e.g. from events/) like a synthesized one."""
        router = self._require_router()
        targets = router.matching_functions(event)
        router.publish(event)
        return targets

    def matching_functions(self, event: Event) -> list[str]:
        return self._require_router().matching_functions(event)

    def wait_idle(self, timeout: float = 30.0) -> None:
        """Every delivery done, including what the deliveries sent to a queue or wrote to
        the table's stream (the mappings poll too, but a test must not race them)."""
        router = self._require_router()
        sources: list[QueueSource | StreamSource] = [*self._queue_sources, *self._stream_sources]
        while True:
            router.wait_idle(timeout)
            # A mapping's poller may be scheduling what it took: `catch_up` waits for it.
            if not sum(source.catch_up() for source in sources) and router.idle:
                return

    def _spec(self, logical_id: str) -> FunctionSpec:
        try:
            return self.specs[logical_id]
        except KeyError:
            raise TemplateError(f"no function {logical_id} in {self.template_path}") from None

    def invoke(self, logical_id: str, event: Event) -> Any:
        """Synchronous invocation, like `sam local invoke`; handler errors propagate."""
        return self.invoker(self._spec(logical_id), event)

    def run_schedule(self, logical_id: str) -> Any:
        """Invoke a scheduled function now with the event its schedule would send."""
        spec = self._spec(logical_id)
        if not spec.schedules:
            raise TemplateError(f"{logical_id} has no schedule")
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": "Scheduled Event",
            "source": "aws.events",
            "account": self.hub_account,
            "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": self.region,
            "resources": [
                f"arn:aws:events:{self.region}:{self.hub_account}:rule/"
                f"{spec.function_name or logical_id}-schedule"
            ],
            "detail": {},
        }
        return self.invoke(logical_id, event)

    def sweep(self, timeout: float = 120.0) -> dict[str, Any]:
        """The reconciler's schedule, and the sweep it starts: the planner's answer once
        every shard it queued has been swept (through the sweep queue and its workers,
        as in AWS)."""
        planned = self.run_schedule(RECONCILER)
        router = self._require_router()
        for source in self._queue_sources:
            if source.function.logical_id == SWEEP_WORKER:
                source.catch_up()
        router.wait_for(SWEEP_WORKER, timeout)
        return dict(planned)

    # -- Slack ----------------------------------------------------------------
    def use_slack(self, receiver: LocalSlack | None) -> None:
        """Point the notifier at `receiver` (a started `LocalSlack`), or at nothing.

        Puts the receiver's URL in the webhook secret and cold-starts the
        functions that read that secret, so the next alert goes there.

        While no receiver is set (the default, and again after `reset()`), SNS
        messages are not delivered to the notifier at all: tests that do not look
        at Slack stay quiet and fast instead of failing to post, retrying and
        filling the notifier's dead-letter queue.
        """
        self.slack = receiver
        self.slack_webhook_url = receiver.url if receiver is not None else NO_SLACK_RECEIVER
        client = self._client(
            self.session(self.hub_account, "Admin", "cloudformation"), "secretsmanager"
        )
        with self.events_paused():
            client.put_secret_value(
                SecretId=self._webhook_secret_arn(), SecretString=self.slack_webhook_url
            )
        self.runtime.reset(*self._slack_readers())

    def _webhook_secret_arn(self) -> str:
        return str(self.resolve_context().parameters["SlackWebhookSecretArn"])

    def _slack_readers(self) -> list[str]:
        """The functions that read the webhook secret (and cache it while warm)."""
        arn = self._webhook_secret_arn()
        return [
            spec.logical_id
            for spec in self.specs.values()
            if spec.environment.get("SLACK_WEBHOOK_SECRET_ARN") == arn
        ]

    def _on_publish(self, published: SnsPublish) -> None:
        """SNS -> Lambda, for topics template.yaml subscribes functions to, as an
        asynchronous invocation (retries, then the function's dead-letter queue).
        Only while a Slack receiver is set: see `use_slack`."""
        if self.slack is None or self.router is None:
            return
        self.router.publish_notification(
            published.topic_arn, lambda subscription: published.lambda_event(subscription.arn)
        )

    def _function_dead_letter(self, spec: FunctionSpec, event: Event, error: str) -> None:
        """Where Lambda puts an asynchronous invocation that failed every attempt
        (the function's `DeadLetterQueue`): the event as is, and why, in the
        attributes Lambda sets (RequestID, ErrorCode, ErrorMessage)."""
        target = spec.dead_letter_arn or ""
        if ":sqs:" not in target:
            raise TemplateError(f"{spec.logical_id}: dead-letter target {target!r} is not SQS")
        *_, account, queue_name = target.split(":")
        sqs = self.hub_client("sqs")
        url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": str(uuid.uuid4())},
                # The HTTP status of the invoke: 200 when the function itself failed.
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error[:1024] or "-"},
            },
        )

    def _send_to_destination(self, destination: str, body: str) -> None:
        """An event source mapping's on-failure destination (SQS in this template)."""
        if ":sqs:" not in destination:
            raise TemplateError(f"on-failure destination {destination!r} is not SQS")
        *_, account, queue_name = destination.split(":")
        sqs = self.hub_client("sqs")
        url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody=body)

    def drain_queue(self, queue: str) -> list[dict[str, Any]]:
        """Every message on a hub queue (a URL, or the template's logical id), taken off it
        with its attributes: what a person inspecting a dead-letter queue would see."""
        url = self.hub.physical_ids.get(queue, queue)
        sqs = self.hub_client("sqs")
        messages: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                messages.append(message)
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return messages

    def _dead_letter(self, spec: FunctionSpec, rule: RuleSpec, event: Event, error: str) -> None:
        """Where a delivery that failed every attempt ends (the rule's DLQ)."""
        if not rule.dead_letter_arn:
            return
        *_, account, queue_name = rule.dead_letter_arn.split(":")
        sqs = self.hub_client("sqs")
        url = sqs.get_queue_url(QueueName=queue_name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        code, _, message = error.partition(": ")
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps(event),
            MessageAttributes={
                name: {"DataType": "String", "StringValue": value or "-"}
                for name, value in {
                    "RULE_ARN": f"arn:aws:events:{self.region}:{self.hub_account}:rule/{rule.name}",
                    "TARGET_ARN": self.runtime.function_arn(spec),
                    "ERROR_CODE": code,
                    "ERROR_MESSAGE": message[:256],
                }.items()
            },
        )

    def __repr__(self) -> str:
        return f"Sandbox(hub={self.hub_account!r}, members={self.member_accounts!r})"


def _paced(delay_amount: Callable[..., float], time: SandboxTime) -> Callable[..., float]:
    def paced(backoff: ExponentialBackoff, context: Any) -> float:
        return delay_amount(backoff, context) * time.scale

    return paced


def _queue_attribute(value: Any) -> str:
    """A queue property as SQS's attribute strings spell it (CloudFormation does the same)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return json.dumps(value)  # RedrivePolicy
    return str(value)


def _tolerate_exists(call: Any) -> bool:
    """Run a create call; False (not an error) if the resource already exists."""
    try:
        call()
    except ClientError as error:
        if error.response["Error"]["Code"] in _ALREADY_EXISTS:
            return False
        raise
    return True
