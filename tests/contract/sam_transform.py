"""Run by SAM CLI's venv (see Makefile): SAM's own translator, offline.

Prints the CloudFormation that `sam deploy` would submit for a SAM template, or
exits non-zero with SAM's error. It is what `sam validate` checks, without the
IAM call SAM CLI makes to resolve managed policy names (driftguard uses none).
"""

import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicyNames:
    def load(self) -> dict[str, str]:
        return {}


# What `sam package` does first: local code paths become S3 locations.
_PACKAGED = {"AWS::Serverless::Function": "CodeUri", "AWS::Serverless::LayerVersion": "ContentUri"}


def main() -> None:
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")  # pseudo parameters only
    with open(sys.argv[1]) as source:
        template = yaml_parse(source.read())
    parameters = json.loads(sys.argv[2])
    for logical_id, resource in template["Resources"].items():
        key = _PACKAGED.get(resource["Type"])
        if key and isinstance(resource["Properties"].get(key), str):
            resource["Properties"][key] = f"s3://packaged-artifacts/{logical_id}.zip"
    print(json.dumps(transform(template, parameters, NoManagedPolicyNames())))


if __name__ == "__main__":
    main()
