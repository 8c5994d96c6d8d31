"""The built layers leave out the AWS SDK and its dependencies, which the Lambda runtime has."""

from __future__ import annotations

from pathlib import Path

from infra import runtime_provided

BUILT = """
Resources:
  CoreLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: CoreLayer}
  DocumentsLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: DocumentsLayer}
  QuoteFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: QuoteFunction, Handler: policies.quote.handler}
"""

KEPT = [
    "CoreLayer/python/petcover/__init__.py",
    "CoreLayer/python/pynamodb/__init__.py",
    "CoreLayer/python/pynamodb-6.1.0.dist-info/METADATA",
    "CoreLayer/python/sixty/__init__.py",  # a name that only starts like one left out
    "DocumentsLayer/python/matplotlib/__init__.py",
    "QuoteFunction/botocore/__init__.py",  # a function's own folder is not a layer
]
LEFT_OUT = [
    "CoreLayer/python/botocore/__init__.py",
    "CoreLayer/python/botocore/data/dynamodb/service-2.json.gz",
    "CoreLayer/python/botocore-1.44.8.dist-info/METADATA",
    "CoreLayer/python/urllib3/__init__.py",
    "CoreLayer/python/jmespath-1.1.0.dist-info/RECORD",
    "DocumentsLayer/python/dateutil/__init__.py",
    "DocumentsLayer/python/python_dateutil-2.9.0.post0.dist-info/METADATA",
    "DocumentsLayer/python/six.py",
    "DocumentsLayer/python/six-1.17.0.dist-info/METADATA",
]


def test_the_sdk_and_its_dependencies_leave_every_layer_and_nothing_else_does(tmp_path: Path):
    (tmp_path / "template.yaml").write_text(BUILT)
    for path in KEPT + LEFT_OUT:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")

    assert runtime_provided.trim(tmp_path) == len(LEFT_OUT)

    assert [p for p in KEPT if not (tmp_path / p).exists()] == []
    assert [p for p in LEFT_OUT if (tmp_path / p).exists()] == []
    assert runtime_provided.trim(tmp_path) == 0  # a second run finds nothing
