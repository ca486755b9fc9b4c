"""The embedded stack: AWS endpoint, payment provider stand-ins, provisioned template, API
server, background plumbing.

Every AWS client reads the standard environment (``AWS_ENDPOINT_URL``,
``AWS_DEFAULT_REGION``, credentials), so pointing the endpoint at moto,
LocalStack or AWS changes nothing else.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any

from infra import template
from infra.local.functions import load_handler
from infra.local.gateway import ApiSettings, serve
from infra.local.plumbing import Plumbing
from infra.local.standins import StandIns
from infra.provision import Provisioner, Stack

# Keys that differ per function; in-process, functions share one environment.
_PER_FUNCTION = {"POWERTOOLS_SERVICE_NAME"}

LOCAL_WEBHOOK_NETWORKS = "127.0.0.1/32,::1/128"
"""Outbound webhooks may reach this machine (a receiver of one's own under ``make run``, the
tests'), over http too: platform configuration for local development only, which a deployment
never sets (``billing.webhooks_out.addresses``). Set the variable to override it."""


def _shared_environment(stack: Stack) -> dict[str, str]:
    """Every function's environment variables, merged: in-process, functions share one
    environment, so two functions giving one variable different values is an error."""
    merged: dict[str, str] = {}
    for logical_id in stack.resources("AWS::Lambda::Function"):
        for key, value in stack.function_environment(logical_id).items():
            if key in _PER_FUNCTION:
                continue
            if merged.get(key, value) != value:
                raise ValueError(f"{key} differs between functions ({merged[key]!r}, {value!r}); rename one")
            merged[key] = value
    return merged


def verify_sender(provisioner: Provisioner) -> None:
    """SES sends only from verified identities: locally the platform's notification sender is
    verified at once (on AWS its owner verifies it, once, by DNS or a link mailed to it)."""
    sender = os.environ.get("NOTIFICATION_SENDER")
    if sender:
        provisioner.client("ses").verify_email_identity(EmailAddress=sender)


@dataclass
class StackConfig:
    endpoint_url: str | None = None
    emulator_port: int = 4566
    api_port: int = 3000
    host: str = "127.0.0.1"
    region: str = "us-east-1"
    stack_name: str = "billing"

    @classmethod
    def from_env(cls) -> StackConfig:
        return cls(
            endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
            emulator_port=int(os.environ.get("EMULATOR_PORT", "4566")),
            api_port=int(os.environ.get("PORT", "3000")),
            region=os.environ.get("AWS_DEFAULT_REGION", "us-east-1"),
            stack_name=os.environ.get("STACK_NAME", "billing"),
        )


def use_endpoint(endpoint_url: str, region: str) -> None:
    """Point every AWS client of this process at ``endpoint_url``."""
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")


@dataclass
class EmbeddedStack:
    config: StackConfig = field(default_factory=StackConfig)
    stack: Stack | None = None
    plumbing: Plumbing | None = None
    standins: StandIns | None = None
    _moto: Any = None
    _server: Any = None

    @property
    def endpoint_url(self) -> str:
        return self.config.endpoint_url or f"http://{self.config.host}:{self.config.emulator_port}"

    @property
    def api_url(self) -> str:
        return f"http://{self.config.host}:{self.config.api_port}"

    def start_emulator(self) -> None:
        """Start the outside world the platform talks to: moto in server mode (unless an
        endpoint was given) and the payment providers' stand-ins."""
        self.start_standins()
        if self.config.endpoint_url is None:
            import logging

            from infra.local.emulator import Emulator

            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            self._moto = Emulator(ip_address=self.config.host, port=self.config.emulator_port, verbose=False)
            self._moto.start()
        use_endpoint(self.endpoint_url, self.config.region)

    def start_standins(self) -> None:
        """The providers' stand-ins (threads, on free ports) and the platform settings that point
        the provider modules at them (``STRIPE_API_BASE`` ...), as a deployment points them at
        the real providers."""
        if self.standins is not None:
            return
        from billing.settings import get_settings
        from infra.local.standins import StandIns

        self.standins = StandIns(self.config.host)
        self.standins.start()
        os.environ.update(self.standins.environment())
        get_settings.cache_clear()

    def provision(self) -> Stack:
        provisioner = Provisioner(self.endpoint_url, self.config.region, self.config.stack_name)
        # links in documents point at the API this stack serves
        self.stack = provisioner.provision(
            template.transformed(region=self.config.region), parameters={"PublicBaseUrl": self.api_url}
        )
        os.environ.update(_shared_environment(self.stack))
        os.environ.setdefault("OUTBOUND_WEBHOOK_ALLOWED_NETWORKS", LOCAL_WEBHOOK_NETWORKS)
        from billing.settings import get_settings

        get_settings.cache_clear()  # the functions' environment changed; clients follow the settings
        verify_sender(provisioner)
        self.plumbing = Plumbing(self.stack, provisioner)
        return self.stack

    def api_app(self) -> Any:
        assert self.stack is not None, "provision first"
        function = self.stack.template["Resources"]["ApiFunction"]
        return load_handler("ApiFunction", function)

    def api_settings(self) -> ApiSettings:
        assert self.stack is not None, "provision first"
        return ApiSettings.of(self.stack.template)

    def serve_api(self) -> None:
        """Serve the API over HTTP on ``api_url`` (once: a second call changes nothing)."""
        if self._server is not None:
            return
        self._server = serve(self.api_app(), self.api_settings(), self.config.host, self.config.api_port)
        threading.Thread(target=self._server.server.serve_forever, name="api", daemon=True).start()

    def start(self) -> None:
        self.start_emulator()
        self.provision()
        self.serve_api()
        assert self.plumbing is not None
        self.plumbing.start()

    def stop(self) -> None:
        if self.plumbing:
            self.plumbing.stop()
        if self._server:
            self._server.server.shutdown()
            self._server.server.server_close()
        if self._moto:
            self._moto.stop()
        if self.standins:
            self.standins.stop()
