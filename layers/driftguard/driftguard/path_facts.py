"""What the accounts show about an access path now: the I/O around driftguard.paths.

`gather` reads every link's facts through the remediation role of the account that
holds it (IAM in the role's account, Secrets Manager in the secret's account and
region, KMS in the key's, EKS in the cluster's). It never reads a secret's value.
"""

from __future__ import annotations

from driftguard.aws import AwsClients
from driftguard.path_model import AccessPath, PathFacts

__all__ = ["gather"]


def gather(path: AccessPath, clients: AwsClients) -> PathFacts:
    """The facts of every link. A missing role, provider, association, secret or key is
    a fact (False/None); a call AWS refuses or fails raises (a path that cannot be read
    is not a broken path)."""
    raise NotImplementedError("being written (issue 12)")
