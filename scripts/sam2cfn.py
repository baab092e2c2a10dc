"""template.yaml -> plain CloudFormation, offline: what `sam deploy` would hand to CloudFormation.

`sam validate --lint` lints the SAM resources as SAM and misses what only shows on the resources they
expand to (a bad runtime, a timeout over 900 s, an IAM action that does not exist). So CI translates
with aws-sam-translator, no AWS account needed, and runs cfn-lint on the result
(the translator ships with aws-sam-cli and runs offline).

    python scripts/sam2cfn.py template.yaml build/template.cfn.json && cfn-lint build/template.cfn.json
"""

import json
import os
import sys
from pathlib import Path
from typing import Any

from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

ROOT = Path(__file__).resolve().parents[1]
REGION = "eu-central-1"


class _OfflinePolicyLoader(ManagedPolicyLoader):
    """No IAM client: the template names no AWS managed policy, only SAM policy templates."""

    def __init__(self) -> None:
        pass

    def load(self) -> dict[str, str]:
        return {}


def translate(template: Path = ROOT / "template.yaml") -> dict[str, Any]:
    """The CloudFormation template SAM makes of ``template``; local code paths become dummy S3 URIs."""
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    sam: dict[str, Any] = yaml_parse(template.read_text())
    for resource in sam.get("Resources", {}).values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = "s3://offline-build/" + props[key].strip("/").replace("/", "-") + ".zip"
    cfn: dict[str, Any] = transform(sam, {"AWS::Region": REGION}, _OfflinePolicyLoader())
    return cfn


def main(argv: list[str]) -> int:
    source = Path(argv[1]) if len(argv) > 1 else ROOT / "template.yaml"
    target = Path(argv[2]) if len(argv) > 2 else ROOT / "build" / "template.cfn.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(translate(source), indent=1, default=str) + "\n")
    sys.stdout.write(f"{source.name} -> {target}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
