"""The pages' words, in English and Russian (DESIGN.md: pages speak both). A template reads
them as ``t.name``; both languages have every key (a unit test holds them equal)."""

# ruff: noqa: RUF001 - Russian is written in Cyrillic letters, which look like Latin ones

from __future__ import annotations

EN = {
    # the operator dashboard
    "dashboard": "Dashboard",
    # the hosted checkout
    "title_invoice": "Pay invoice {number}",
    "title_top_up": "Top up your balance",
    "billed_to": "Billed to",
    "invoice": "Invoice",
    "due_date": "Due date",
    "items": "What you pay for",
    "description": "Description",
    "amount": "Amount",
    "amount_due": "Amount due",
    "top_up": "Balance top-up",
    "choose": "Choose how to pay",
    "pay_card": "Pay by card",
    "save_card": "Save this card for future invoices (they are then charged to it automatically)",
    "pay_crypto": "Pay with {name}",
    "no_methods": "Online payment is not available for this invoice yet. Please contact {business}.",
    "state_paid": "Paid. Thank you!",
    "state_processing": (
        "We are waiting for the payment provider to confirm your payment. "
        "This page shows the result once it arrives; you can reload it."
    ),
    "state_partially_paid": "Part of the amount arrived. The rest is still due.",
    "state_failed": "The payment did not go through. You can try again.",
    "state_expired": "This payment link has expired. Please ask {business} for a new one.",
    "state_void": "This invoice has been cancelled: there is nothing to pay.",
    "state_open": "Nothing has been paid yet.",
    "back": "Back to the payment page",
    "not_found": "This payment link does not exist.",
    "error": "Something went wrong",
    "try_again": "Please try again in a moment.",
    "secure": "Card and wallet details are entered on the payment provider's page, never here.",
    # the customer portal
    "link_expired": "This link has expired",
    "link_expired_text": "Links to your account work once and for a few minutes. Please ask for a new one.",
    "session_ended": "Your session has ended",
    "signed_out": "You have signed out",
    "sign_out": "Sign out",
    "back_to": "Back to {business}",
    "portal_nav": "Your account",
    "portal_overview": "Overview",
}

RU = {
    # the operator dashboard
    "dashboard": "Панель управления",
    # the hosted checkout
    "title_invoice": "Оплата счёта {number}",
    "title_top_up": "Пополнение баланса",
    "billed_to": "Плательщик",
    "invoice": "Счёт",
    "due_date": "Срок оплаты",
    "items": "За что вы платите",
    "description": "Описание",
    "amount": "Сумма",
    "amount_due": "К оплате",
    "top_up": "Пополнение баланса",
    "choose": "Выберите способ оплаты",
    "pay_card": "Оплатить картой",
    "save_card": "Сохранить карту для следующих счетов (они будут списываться с неё автоматически)",
    "pay_crypto": "Оплатить через {name}",
    "no_methods": "Онлайн-оплата этого счёта пока недоступна. Обратитесь в {business}.",
    "state_paid": "Оплачено. Спасибо!",
    "state_processing": (
        "Ждём подтверждения платежа от платёжной системы. Результат появится на этой странице; её можно обновить."
    ),
    "state_partially_paid": "Поступила часть суммы. Остаток ещё нужно оплатить.",
    "state_failed": "Платёж не прошёл. Можно попробовать ещё раз.",
    "state_expired": "Срок действия ссылки истёк. Попросите у {business} новую.",
    "state_void": "Счёт аннулирован: платить ничего не нужно.",
    "state_open": "Оплаты пока не было.",
    "back": "Вернуться к оплате",
    "not_found": "Такой ссылки на оплату нет.",
    "error": "Что-то пошло не так",
    "try_again": "Попробуйте ещё раз чуть позже.",
    "secure": "Данные карты и кошелька вводятся на странице платёжной системы, а не здесь.",
    # the customer portal
    "link_expired": "Срок действия ссылки истёк",
    "link_expired_text": "Ссылка в личный кабинет действует один раз и несколько минут. Запросите новую.",
    "session_ended": "Сеанс завершён",
    "signed_out": "Вы вышли из личного кабинета",
    "sign_out": "Выйти",
    "back_to": "Вернуться в {business}",
    "portal_nav": "Личный кабинет",
    "portal_overview": "Обзор",
}

STRINGS = {"en": EN, "ru": RU}
LANGUAGES = tuple(STRINGS)
