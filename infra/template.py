"""Read ``template.yaml`` (with CloudFormation's short-form tags) and apply the SAM transform."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"
CODE_BUCKET = "local-code"


class _Loader(yaml.SafeLoader):
    """SafeLoader that turns ``!Ref x`` into ``{"Ref": x}`` and ``!Sub s`` into ``{"Fn::Sub": s}``."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if tag_suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_Loader.add_multi_constructor("!", _intrinsic)


def load(path: Path = TEMPLATE) -> dict[str, Any]:
    data: dict[str, Any] = yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    return data


@lru_cache(maxsize=4)
def transformed(path: Path = TEMPLATE, region: str = "us-east-1") -> dict[str, Any]:
    """The plain CloudFormation template that ``sam deploy`` would create.

    The template names no AWS managed policy by name, so the transform needs no IAM lookups.
    Local code folders stand in as keys of a placeholder bucket, as ``sam package`` would
    upload them.
    """
    import boto3
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    sam = load(path)
    for resource in sam["Resources"].values():
        props = resource.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{CODE_BUCKET}/{props[key].rstrip('/')}"
    translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=region))
    result: dict[str, Any] = translator.translate(sam, parameter_values={}, get_managed_policy_map=dict)
    return result


def code_dir(function: dict[str, Any]) -> Path:
    """The local source folder of a transformed ``AWS::Lambda::Function``."""
    key: str = function["Properties"]["Code"]["S3Key"]
    return ROOT / key


def placeholder_environment(logical_id: str, path: Path = TEMPLATE) -> dict[str, str]:
    """The environment variables ``template.yaml`` gives a function (its own and the globals),
    each ``!Ref`` replaced by a value of the shape AWS gives (a queue's URL, a parameter's
    default, a name), to run its code without a stack: benchmarks and contract tests."""
    sam = load(path)
    variables = {
        **sam.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}),
        **sam["Resources"][logical_id]["Properties"].get("Environment", {}).get("Variables", {}),
    }
    return {name: _placeholder(sam, value) for name, value in variables.items()}


def _placeholder(sam: dict[str, Any], value: Any) -> str:
    if not isinstance(value, dict):
        return str(value)
    (target,) = value.values()
    if target in sam.get("Parameters", {}):
        return str(sam["Parameters"][target].get("Default", ""))
    if sam["Resources"][target]["Type"] == "AWS::SQS::Queue":
        return f"https://sqs.us-east-1.amazonaws.com/123456789012/{target}"
    return f"placeholder-{target}"
