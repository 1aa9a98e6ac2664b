"""driftguard's own flags on every policy write, per resource kind: the unit tests pin
that the code sends them, the template tests that the spoke denies the rest."""

from __future__ import annotations

# kind -> (an ARN of it, the write call, the guardrail parameters it must carry)
GUARDRAILS: dict[str, tuple[str, str, dict[str, bool]]] = {
    "kms-key": (
        "arn:aws:kms:us-east-1:333333333333:key/0f6a3c2e-8a57-4d7e-9b0c-2d1e5f4a7b91",
        "put_key_policy",
        {"BypassPolicyLockoutSafetyCheck": False},
    ),
    # A trust policy has no guardrail flag: the spoke denies driftguard its own role's.
    "role-trust": ("arn:aws:iam::111111111111:role/pod-role", "update_assume_role_policy", {}),
    "secret": (
        "arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-Xy12Ab",
        "put_resource_policy",
        {"BlockPublicPolicy": True},
    ),
}
