"""template.yaml is valid CloudFormation/SAM: cfn-lint passes and the SAM transform succeeds."""

from __future__ import annotations

import os
import subprocess
import sys

from infra import template


def test_cfn_lint_passes() -> None:
    exe = os.path.join(os.path.dirname(sys.executable), "cfn-lint")
    result = subprocess.run([exe, str(template.TEMPLATE)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_transform_yields_plain_cloudformation() -> None:
    transformed = template.transformed()
    kinds = {resource["Type"] for resource in transformed["Resources"].values()}
    assert not any(kind.startswith("AWS::Serverless::") for kind in kinds)
    assert {"AWS::Lambda::Function", "AWS::ApiGateway::RestApi", "AWS::DynamoDB::Table"} <= kinds


def test_functions_run_python_311_with_the_core_layer() -> None:
    functions = {k: v for k, v in template.transformed()["Resources"].items() if v["Type"] == "AWS::Lambda::Function"}
    assert functions
    for name, function in functions.items():
        assert function["Properties"]["Runtime"] == "python3.11", name
        assert function["Properties"]["Layers"], name
        assert template.code_dir(function).is_dir(), name


def test_the_api_authorizer_is_the_api_functions_own_code() -> None:
    resources = template.transformed()["Resources"]
    assert resources["AuthorizerFunction"]["Properties"]["Handler"] == "app.api_key_authorizer"
    assert resources["AuthorizerFunction"]["Properties"]["Code"] == resources["ApiFunction"]["Properties"]["Code"]
