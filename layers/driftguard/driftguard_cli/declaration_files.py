"""Declarations as code: one file per resource, YAML or JSON, reviewed as a pull request.

    arn: arn:aws:kms:us-east-1:333333333333:key/1234abcd-...   # required
    mode: enforce                                              # required: enforce | detect
    owner: payments-team                                       # optional
    ticket: SEC-1234                                           # optional
    allow_public: false                                        # optional
    policy:                                                    # required: a mapping
      Version: "2012-10-17"
      Statement: [...]

Pure: file contents in, frozen objects out (`load`), and objects in, file contents out
(`export_files`, for `driftguard export`); reading and writing the directory is the
command's. Pydantic checks each file at the edge (unknown fields refused), and every
problem is reported with the file and the field, all files at once.

A file whose top level is `access_path:` declares an access path instead
(driftguard_cli.path_files): decoded here, with the same refusals, then checked there.

Files are read strictly (driftguard_cli.strict_files): YAML's traps (an unquoted date,
`on` read as true) and keys given twice are refused, never guessed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    StrictBool,
    StrictStr,
    ValidationError,
    field_validator,
)
from pydantic_core import ErrorDetails

from driftguard import kinds
from driftguard.access import public_allows
from driftguard.arns import Arn
from driftguard.errors import DriftguardError, PolicyParseError
from driftguard.model import Declared, sha256
from driftguard.policy import Policy
from driftguard.vocabulary import Mode
from driftguard_cli.path_files import PathFile, from_data, is_path_file
from driftguard_cli.strict_files import decode

SUFFIXES: Final = (".yaml", ".yml", ".json")
# The order of the fields in an exported file (and of the allowed fields in messages).
FIELDS: Final = ("arn", "mode", "owner", "ticket", "allow_public", "policy")
HEADER: Final = "# A driftguard declaration: see docs/declarations-as-code.md\n"
_Declares = TypeVar("_Declares")


@dataclass(frozen=True)
class Source:
    """One file of the directory: its path relative to the directory (with `/`), and
    its bytes."""

    path: str
    data: bytes


@dataclass(frozen=True)
class DeclarationFile:
    """What one file declares."""

    path: str
    arn: str
    mode: Mode
    policy: Mapping[str, Any] = field(hash=False)
    owner: str | None = None
    ticket: str | None = None
    allow_public: bool = False

    @property
    def policy_text(self) -> str:
        """The policy as it is declared (and restored): JSON, in the file's key order."""
        return json.dumps(self.policy, indent=2)

    def same_as(self, declared: Declared) -> bool:
        """The declaration already says what this file says: same mode and the same
        policy document (key order aside)."""
        try:
            current = json.loads(declared.policy)
        except ValueError:
            return False
        return declared.mode is self.mode and _canonical(current) == _canonical(self.policy)


@dataclass(frozen=True)
class FileError:
    """Why a file cannot be applied; `path` None: not one file's problem."""

    path: str | None
    problems: tuple[str, ...]

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return where + "; ".join(self.problems)


@dataclass(frozen=True)
class Loaded:
    files: tuple[DeclarationFile, ...]
    errors: tuple[FileError, ...]
    paths: tuple[PathFile, ...] = ()  # the access path files


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


# --------------------------------------------------------------------------- the edge


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    arn: StrictStr
    mode: Mode
    policy: dict[str, Any]
    owner: StrictStr | None = None
    ticket: StrictStr | None = None
    allow_public: StrictBool = False

    @field_validator("arn")
    @classmethod
    def _known_resource(cls, value: str) -> str:
        try:
            return kinds.target(value).text
        except DriftguardError as exc:
            raise ValueError(str(exc)) from None

    @field_validator("policy", mode="before")
    @classmethod
    def _a_mapping(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError("must be the policy itself as a mapping, not a string of JSON")
        _json_only(value)
        return value


def _json_only(value: Any) -> None:
    """ValueError when the value holds anything a JSON policy cannot (a YAML set, bytes,
    a non-text key...)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError(f"has a key that is not text: {key!r}")
            _json_only(item)
    elif isinstance(value, list):
        for item in value:
            _json_only(item)
    elif not isinstance(value, str | int | float | bool | None):
        raise ValueError(f"holds a value JSON cannot carry: {type(value).__name__}")


def _problem(error: ErrorDetails) -> str:
    where = ".".join(str(part) for part in error["loc"]) or "(file)"
    kind = error["type"]
    if kind == "extra_forbidden":
        return f"{where}: unknown field (allowed: {', '.join(FIELDS)})"
    if kind == "missing":
        return f"{where}: required field missing"
    if kind == "value_error":
        return f"{where}: {error.get('ctx', {}).get('error', error['msg'])}"
    return f"{where}: {error['msg']}"


# --------------------------------------------------------------------------- parsing


def parse(source: Source) -> DeclarationFile | PathFile | FileError:
    """One file: what it declares (a resource's policy, or an access path), or every
    problem found in it."""
    try:
        data = decode(source.path, source.data)
    except ValueError as exc:
        return FileError(source.path, (str(exc),))
    if is_path_file(data):
        found = from_data(source.path, data)
        return found if isinstance(found, PathFile) else FileError(source.path, found)
    if not isinstance(data, dict):
        shown = "nothing" if data is None else f"a {type(data).__name__}"
        problem = (
            f"not a declaration: expected a mapping of {', '.join(FIELDS)} "
            f"(or of access_path), got {shown}"
        )
        return FileError(source.path, (problem,))
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        return FileError(source.path, tuple(_problem(error) for error in exc.errors()))
    return DeclarationFile(
        path=source.path,
        arn=model.arn,
        mode=model.mode,
        policy=model.policy,
        owner=model.owner,
        ticket=model.ticket,
        allow_public=model.allow_public,
    )


def load(sources: Iterable[Source]) -> Loaded:
    """Every file, in path order; a file that cannot be read, or that declares a
    resource (or an access path) another file declares too, is an error (and declares
    nothing)."""
    parsed: list[DeclarationFile] = []
    paths: list[PathFile] = []
    errors: list[FileError] = []
    for source in sorted(sources, key=lambda s: s.path):
        found = parse(source)
        if isinstance(found, FileError):
            errors.append(found)
        elif isinstance(found, PathFile):
            paths.append(found)
        else:
            parsed.append(found)
    files = _once(parsed, lambda d: d.arn, lambda d: d.path, "arn", errors)
    named = _once(paths, lambda p: p.name, lambda p: p.file, "access_path.name", errors)
    return Loaded(tuple(files), tuple(sorted(errors, key=lambda e: e.path or "")), tuple(named))


def _once(
    found: list[_Declares],
    key: Callable[[_Declares], str],
    file: Callable[[_Declares], str],
    field: str,
    errors: list[FileError],
) -> list[_Declares]:
    """What only one file declares; a file declaring what another declares too is an
    error (appended to `errors`)."""
    files_of: dict[str, list[str]] = defaultdict(list)
    for item in found:
        files_of[key(item)].append(file(item))
    alone = []
    for item in found:
        if others := [p for p in files_of[key(item)] if p != file(item)]:
            problem = f"{field}: {key(item)} is declared in {', '.join(others)} too"
            errors.append(FileError(file(item), (problem,)))
        else:
            alone.append(item)
    return alone


# --------------------------------------------------------------------------- export


def declaration_file(declared: Declared, path: str) -> DeclarationFile:
    """What a file declaring `declared` holds; PolicyParseError when its policy is not
    a readable JSON policy. `allow_public` is set when the policy grants everyone (it was
    accepted so), so that the file declares what is declared."""
    policy = Policy.parse(declared.policy)
    document = json.loads(declared.policy)
    if not isinstance(document, dict):  # pragma: no cover - Policy.parse refuses it
        raise PolicyParseError("the policy is not a JSON object")
    public = bool(public_allows(policy, Arn.parse(declared.arn).partition))
    return DeclarationFile(
        path=path, arn=declared.arn, mode=declared.mode, policy=document, allow_public=public
    )


def render(declaration: DeclarationFile) -> str:
    """The file's YAML: fields in a fixed order, the policy in block style in its own key
    order, nothing unset; the same declaration always gives the same bytes."""
    values: dict[str, Any] = {
        "arn": declaration.arn,
        "mode": declaration.mode.value,
        "owner": declaration.owner,
        "ticket": declaration.ticket,
        "allow_public": declaration.allow_public or None,
        "policy": dict(declaration.policy),
    }
    ordered = {name: values[name] for name in FIELDS if values[name] is not None}
    body = yaml.safe_dump(
        ordered, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )
    return HEADER + str(body)


def file_names(declared: Sequence[Declared]) -> dict[str, str]:
    """A file name per declaration (by ARN): `<account>/<kind>-<short name>.yaml`; the
    region, then a digest of the ARN, is added to names that would be taken twice."""
    names = {d.arn: _file_name(d, 0) for d in declared}
    for level in (1, 2):
        counts: dict[str, int] = defaultdict(int)
        for name in names.values():
            counts[name] += 1
        names = {
            d.arn: _file_name(d, level) if counts[names[d.arn]] > 1 else names[d.arn]
            for d in declared
        }
    return names


def _file_name(declared: Declared, level: int) -> str:
    arn = Arn.parse(declared.arn)
    name = re.split(r"[:/]", arn.resource, maxsplit=1)[-1]
    if declared.kind == "secret":  # Secrets Manager's random suffix says nothing
        name = re.sub(r"-[A-Za-z0-9]{6}$", "", name)
    parts = [declared.kind, re.sub(r"[^A-Za-z0-9._-]", "_", name)]
    if level >= 1:
        parts.append(arn.region or "global")
    if level >= 2:
        parts.append(sha256(declared.arn)[:8])
    return f"{arn.account or 'no-account'}/{'-'.join(parts)}.yaml"


def export_files(declared: Sequence[Declared]) -> tuple[dict[str, str], tuple[FileError, ...]]:
    """Every declaration's file (path -> YAML text), and the declarations that cannot be
    written (their policy is unreadable; the functions refuse them too)."""
    names = file_names(declared)
    files: dict[str, str] = {}
    errors: list[FileError] = []
    for item in sorted(declared, key=lambda d: names[d.arn]):
        try:
            files[names[item.arn]] = render(declaration_file(item, names[item.arn]))
        except (PolicyParseError, ValueError) as exc:
            problem = f"{item.arn}: its declared policy is unreadable: {exc}"
            errors.append(FileError(None, (problem,)))
    return files, tuple(errors)
