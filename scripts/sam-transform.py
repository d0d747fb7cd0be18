"""Prints template.yaml as AWS SAM transforms it (CloudFormation JSON), for the IAM simulation test.

Runs with the project's SAM virtualenv (aws-sam-translator is the library `sam build` and CloudFormation's
AWS::Serverless transform use). Managed policies named by string would need IAM to resolve; Stagecrew names
none, so the loader answers from an empty map and an unknown name fails the transform.
"""
import json
import os
import sys

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self):
        return {}


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "template.yaml"
    # The transform reads the pseudo-parameters' region from the environment; the simulation uses us-east-1.
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with open(path, encoding="utf-8") as f:
        template = yaml_parse(f.read())
    # As `sam package` does before the transform: local code and definition paths become S3 locations.
    for name, resource in template.get("Resources", {}).items():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "DefinitionUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://stagecrew-artifacts/{name}"
    print(json.dumps(transform(template, {}, NoManagedPolicies()), indent=1, default=str))


if __name__ == "__main__":
    main()
