"""The build ships bytecode: the layer whole and each function's handler package, as unchecked-hash
pyc files (used whatever timestamps the zip gives the sources)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from infra import bytecode

BUILT = """
Resources:
  Layer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: Layer}
  QuoteFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: QuoteFunction, Handler: policies.quote.handler, Role: !GetAtt R.Arn}
"""


def _tree(root: Path) -> None:
    (root / "template.yaml").write_text(BUILT)
    for path in ("Layer/python/petcover/__init__.py", "QuoteFunction/policies/quote.py", "QuoteFunction/other/x.py"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text("VALUE = 1\n")


def test_the_layer_and_each_handler_package_are_compiled_and_nothing_else(tmp_path: Path):
    _tree(tmp_path)
    folders, _ = bytecode.compile_build(tmp_path)
    assert folders == 2
    tag = importlib.util.cache_from_source("m.py").split("/")[-1]  # __pycache__/m.cpython-311.pyc
    layer_pyc = tmp_path / "Layer/python/petcover/__pycache__" / tag.replace("m.", "__init__.")
    handler_pyc = tmp_path / "QuoteFunction/policies/__pycache__" / tag.replace("m.", "quote.")
    assert layer_pyc.exists() and handler_pyc.exists()
    assert not (tmp_path / "QuoteFunction/other/__pycache__").exists()
    flags = int.from_bytes(handler_pyc.read_bytes()[4:8], "little")
    assert flags == 0b01  # hash-based, not checked against the source (PEP 552)
