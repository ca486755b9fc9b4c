"""Load the handlers of the template's Lambda functions in-process, from their code folders."""

from __future__ import annotations

import importlib.util
import sys
import uuid
from collections.abc import Callable
from typing import Any

from infra.template import code_dir

Handler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The attributes of a Lambda context object that our code and Powertools read."""

    def __init__(self, function_name: str, memory_mb: int = 512, timeout_s: int = 30):
        self.function_name = function_name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function_name}"
        self.log_stream_name = "local"
        self._timeout_ms = timeout_s * 1000

    def get_remaining_time_in_millis(self) -> int:
        return self._timeout_ms


def load_handler(logical_id: str, function: dict[str, Any]) -> Handler:
    """Import ``Handler`` (``module.attribute``) from the function's code folder.

    Each folder is imported under its own module name, so two functions with a
    ``handler.py`` do not collide. The API folder goes on ``sys.path`` because its
    modules import ``chalicelib`` as Lambda would.
    """
    folder = code_dir(function)
    module_name, attribute = function["Properties"]["Handler"].rsplit(".", 1)
    if str(folder) not in sys.path and (folder / "chalicelib").is_dir():
        sys.path.insert(0, str(folder))
    unique = f"_fn_{logical_id}_{module_name}"
    module = sys.modules.get(unique)
    if module is None:
        if (folder / "chalicelib").is_dir():
            module = importlib.import_module(module_name)
        else:
            spec = importlib.util.spec_from_file_location(unique, folder / f"{module_name}.py")
            assert spec and spec.loader
            module = sys.modules[unique] = importlib.util.module_from_spec(spec)  # first, as an import does
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[unique]
                raise
        sys.modules[unique] = module
    handler: Handler = getattr(module, attribute)
    return handler
