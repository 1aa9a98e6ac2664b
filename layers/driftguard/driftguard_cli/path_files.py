"""Access paths as code: one file per path beside the policy files (docs/declarations-as-code.md).

    access_path:                       # the top level: this file declares an access path
      name: payments/testsecret        # required: the path's name (declare-path NAME)
      mode: enforce                    # required: enforce | detect
      role: arn:aws:iam::111111111111:role/pod-role
      secret: arn:aws:secretsmanager:us-east-1:222222222222:secret:testsecret-AbCdEf
      key: arn:aws:kms:us-east-1:333333333333:key/1234abcd-...   # a key ARN, not an alias
      irsa:                            # or pod_identity: {cluster, namespace, service_account}
        provider: arn:aws:iam::111111111111:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X
        namespace: testnamespace
        service_account: testapp
      boundary: arn:aws:iam::111111111111:policy/workload-boundary   # optional
      owner: payments-team             # optional, not signed (as in a policy file)
      ticket: SEC-1234                 # optional, not signed

Pure: decoded file contents in, a PathFile (or every problem) out (`from_data`; the
YAML and JSON decoding, and its refusals, are driftguard_cli.declaration_files'), and
declarations in, file contents out (`export_files`). Each value is checked by the same
functions that check `declare-path`'s arguments (driftguard_cli.path_inputs). The key
must be an ARN: the file says exactly what is signed, with nothing resolved on the way.
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from driftguard.model import sha256
from driftguard.path_model import AccessPath, Irsa, PathDeclaration, PodIdentity
from driftguard.vocabulary import Mode
from driftguard_cli import path_inputs

__all__ = [
    "KIND",
    "TOP",
    "PathFile",
    "export_files",
    "file_names",
    "from_data",
    "is_path_file",
    "path_file",
    "render",
]

# What marks a file as an access path, and what the plan calls one.
TOP: Final = "access_path"
KIND: Final = "access-path"
HEADER: Final = "# A driftguard access path: see docs/declarations-as-code.md\n"
DIRECTORY: Final = "paths"
# The order of the fields in an exported file (and of the allowed fields in messages).
FIELDS: Final = (
    "name",
    "mode",
    "role",
    "secret",
    "key",
    "irsa",
    "pod_identity",
    "boundary",
    "owner",
    "ticket",
)
_ALLOWED: Final[Mapping[str, tuple[str, ...]]] = {
    "": (TOP,),
    TOP: FIELDS,
    "irsa": ("provider", "namespace", "service_account"),
    "pod_identity": ("cluster", "namespace", "service_account"),
}


@dataclass(frozen=True)
class PathFile:
    """What one access path file declares; `file`: its path in the directory."""

    file: str
    name: str
    mode: Mode
    path: AccessPath
    boundary_arn: str | None = None
    owner: str | None = None
    ticket: str | None = None


def is_path_file(data: Any) -> bool:
    """A decoded file is an access path when its top level names `access_path`."""
    return isinstance(data, dict) and TOP in data


# --------------------------------------------------------------------------- the edge


def _checked(check: Callable[[str], str]) -> Callable[[str], str]:
    """A path_inputs check (argparse's error) as a pydantic validator (ValueError)."""

    def validate(value: str) -> str:
        try:
            return check(value)
        except argparse.ArgumentTypeError as exc:
            raise ValueError(str(exc)) from None

    return validate


def _key_arn(value: str) -> str:
    path_inputs.key_reference(value)
    if not value.startswith("arn:") or ":key/" not in value:
        raise argparse.ArgumentTypeError(
            f"not a KMS key ARN: {value!r} (a file names the key by its ARN, "
            "arn:aws:kms:REGION:ACCOUNT:key/ID, not an ID or alias)"
        )
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _IrsaModel(_Strict):
    provider: StrictStr
    namespace: StrictStr
    service_account: StrictStr

    _provider = field_validator("provider")(_checked(path_inputs.oidc_provider_arn))
    _namespace = field_validator("namespace")(_checked(path_inputs.namespace))
    _account = field_validator("service_account")(_checked(path_inputs.service_account))


class _PodIdentityModel(_Strict):
    cluster: StrictStr
    namespace: StrictStr
    service_account: StrictStr

    _cluster = field_validator("cluster")(_checked(path_inputs.cluster_arn))
    _namespace = field_validator("namespace")(_checked(path_inputs.namespace))
    _account = field_validator("service_account")(_checked(path_inputs.service_account))


class _PathModel(_Strict):
    name: StrictStr
    mode: Mode
    role: StrictStr
    secret: StrictStr
    key: StrictStr
    irsa: _IrsaModel | None = None
    pod_identity: _PodIdentityModel | None = None
    boundary: StrictStr | None = None
    owner: StrictStr | None = None
    ticket: StrictStr | None = None

    _name = field_validator("name")(_checked(path_inputs.path_name))
    _role = field_validator("role")(_checked(path_inputs.path_role_arn))
    _secret = field_validator("secret")(_checked(path_inputs.secret_arn))
    _key = field_validator("key")(_checked(_key_arn))
    _boundary = field_validator("boundary")(_checked(path_inputs.policy_arn))

    @model_validator(mode="after")
    def _one_way_in(self) -> _PathModel:
        if (self.irsa is None) is (self.pod_identity is None):
            raise ValueError("give exactly one of irsa or pod_identity (how pods get the role)")
        return self


class _FileModel(_Strict):
    access_path: _PathModel


def _problem(error: ErrorDetails) -> str:
    loc = [str(part) for part in error["loc"]]
    where = ".".join(loc) or "(file)"
    kind = error["type"]
    if kind == "extra_forbidden":
        allowed = _ALLOWED.get(loc[-2] if len(loc) > 1 else "", ())
        return f"{where}: unknown field (allowed: {', '.join(allowed)})"
    if kind == "missing":
        return f"{where}: required field missing"
    if kind == "model_type":
        return f"{where}: must be a mapping"
    if kind == "value_error":
        return f"{where}: {error.get('ctx', {}).get('error', error['msg'])}"
    return f"{where}: {error['msg']}"


def from_data(file: str, data: Mapping[str, Any]) -> PathFile | tuple[str, ...]:
    """The access path a decoded file declares, or every problem found in it."""
    try:
        model = _FileModel.model_validate(data).access_path
    except ValidationError as exc:
        return tuple(_problem(error) for error in exc.errors())
    access: Irsa | PodIdentity
    if model.irsa is not None:
        access = Irsa(model.irsa.provider, model.irsa.namespace, model.irsa.service_account)
    else:
        assert model.pod_identity is not None  # _one_way_in
        pod = model.pod_identity
        access = PodIdentity(pod.cluster, pod.namespace, pod.service_account)
    return PathFile(
        file=file,
        name=model.name,
        mode=model.mode,
        path=AccessPath(model.role, model.secret, model.key, access),
        boundary_arn=model.boundary,
        owner=model.owner,
        ticket=model.ticket,
    )


# --------------------------------------------------------------------------- export


def path_file(declaration: PathDeclaration, file: str) -> PathFile:
    """What a file declaring `declaration` holds."""
    return PathFile(
        file=file,
        name=declaration.name,
        mode=declaration.mode,
        path=declaration.path,
        boundary_arn=declaration.boundary_arn,
    )


def _access(access: Irsa | PodIdentity) -> tuple[str, dict[str, str]]:
    if isinstance(access, Irsa):
        return "irsa", {"provider": access.oidc_provider_arn}
    return "pod_identity", {"cluster": access.cluster_arn}


def render(found: PathFile) -> str:
    """The file's YAML: fields in a fixed order, nothing unset; the same path always
    gives the same bytes."""
    how, where = _access(found.path.access)
    values: dict[str, Any] = {
        "name": found.name,
        "mode": found.mode.value,
        "role": found.path.role_arn,
        "secret": found.path.secret_arn,
        "key": found.path.key_arn,
        how: where
        | {
            "namespace": found.path.access.namespace,
            "service_account": found.path.access.service_account,
        },
        "boundary": found.boundary_arn,
        "owner": found.owner,
        "ticket": found.ticket,
    }
    ordered = {name: values[name] for name in FIELDS if values.get(name) is not None}
    body = yaml.safe_dump(
        {TOP: ordered}, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )
    return HEADER + str(body)


def _file_name(name: str, with_digest: bool) -> str:
    # A name may hold `/` and `..`: never a directory of its own, so no file escapes
    # the directory or hides under a dot.
    stem = re.sub(r"[^a-z0-9._-]", "-", name.replace("/", "--"))
    if with_digest:
        stem += "-" + sha256(name)[:8]
    return f"{DIRECTORY}/{stem}.yaml"


def file_names(names: Sequence[str]) -> dict[str, str]:
    """A file per path name, `paths/<name, its / made -->.yaml`; a digest of the name is
    added to a name that two paths would share."""
    first = {name: _file_name(name, False) for name in names}
    counts: dict[str, int] = defaultdict(int)
    for file in first.values():
        counts[file] += 1
    return {name: _file_name(name, counts[file] > 1) for name, file in first.items()}


def export_files(declarations: Sequence[PathDeclaration]) -> dict[str, str]:
    """Every path's file: file path -> YAML text."""
    names = file_names([d.name for d in declarations])
    ordered = sorted(declarations, key=lambda d: names[d.name])
    return {names[d.name]: render(path_file(d, names[d.name])) for d in ordered}
