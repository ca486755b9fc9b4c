"""The bus rule of the notifier routes exactly the events it tells customers about, and each
has a template in every locale."""

from __future__ import annotations

from billing.notifications.kinds import KINDS
from billing.notifications.model import LOCALES
from billing.notifications.templates import FOLDER, LAYOUT
from infra import template


def test_the_notification_rule_routes_exactly_the_events_customers_are_told_about() -> None:
    rule = template.load()["Resources"]["NotificationRule"]["Properties"]
    assert set(rule["EventPattern"]["detail-type"]) == set(KINDS)
    assert rule["Targets"][0]["Arn"] == {"Fn::GetAtt": ["NotificationQueue", "Arn"]}


def test_every_event_has_its_template_in_every_locale_and_nothing_else() -> None:
    for locale in LOCALES:
        files = {path.stem for path in (FOLDER / locale).glob("*.txt")}
        assert files == {kind.template for kind in KINDS.values()} | {LAYOUT}, locale
