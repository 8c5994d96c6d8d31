"""Leave out of the built layers what the Lambda Python runtime already has: the AWS SDK (boto3,
botocore, s3transfer) and what it depends on (jmespath, python-dateutil, six, urllib3).

``sam build`` installs them as dependencies of the layer's packages (pynamodb and the X-Ray SDK
need botocore; matplotlib needs python-dateutil). Left in, the layer's botocore would shadow the
runtime's and be paired with the runtime's boto3 of another release; it is also half the petcover
layer's files, which every new container unpacks and every cold start searches. The runtime's SDK
is the one the code is written against (``shared/requirements.txt`` leaves boto3 out for that).

    python -m infra.runtime_provided .aws-sam/build     # after `sam build`, before compiling bytecode
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

from infra import template

# Distribution names as pip writes them (``<name>-<version>.dist-info``) and the top-level names
# they install.
DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python_dateutil", "six", "urllib3")
TOP_LEVEL = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six.py", "urllib3")
DIST_INFO = re.compile(r"^(?P<name>[A-Za-z0-9_.]+)-[^-]+\.dist-info$")


def layer_folders(build_dir: Path) -> list[Path]:
    built = template.parse((build_dir / "template.yaml").read_text())
    return [
        build_dir / str(res["Properties"]["ContentUri"]) / "python"
        for res in built["Resources"].values()
        if res.get("Type") == "AWS::Serverless::LayerVersion"
    ]


def provided(entry: Path) -> bool:
    """One entry of a layer's python/ folder that the runtime provides."""
    match = DIST_INFO.match(entry.name)
    if match:
        return match["name"].lower().replace(".", "_") in DISTRIBUTIONS
    return entry.name in TOP_LEVEL


def trim(build_dir: Path) -> int:
    """Remove what the runtime provides from every built layer; the number of files removed."""
    removed = 0
    for folder in layer_folders(build_dir):
        for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
            if not provided(entry):
                continue
            if entry.is_dir():
                removed += sum(1 for p in entry.rglob("*") if p.is_file())
                shutil.rmtree(entry)
            else:
                removed += 1
                entry.unlink()
    return removed


if __name__ == "__main__":
    print(f"left out {trim(Path(sys.argv[1] if len(sys.argv) > 1 else '.aws-sam/build'))} files the runtime provides")
