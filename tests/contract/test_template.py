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


def test_functions_and_the_layer_run_the_python_the_tests_run_on() -> None:
    """One runtime everywhere, and the tests run on its minor version (the Makefile's venv)."""
    runtime = f"python{sys.version_info.major}.{sys.version_info.minor}"
    resources = template.transformed()["Resources"]
    functions = {k: v for k, v in resources.items() if v["Type"] == "AWS::Lambda::Function"}
    assert functions
    for name, function in functions.items():
        assert function["Properties"]["Runtime"] == runtime, name
        assert function["Properties"]["Layers"], name
        assert template.code_dir(function).is_dir(), name
    layer = template.load()["Resources"]["BillingLayer"]
    assert layer["Properties"]["CompatibleRuntimes"] == [runtime]
    assert layer["Metadata"]["BuildMethod"] == runtime


def test_the_api_authorizer_is_the_api_functions_own_code() -> None:
    resources = template.transformed()["Resources"]
    assert resources["AuthorizerFunction"]["Properties"]["Handler"] == "app.api_key_authorizer"
    assert resources["AuthorizerFunction"]["Properties"]["Code"] == resources["ApiFunction"]["Properties"]["Code"]
