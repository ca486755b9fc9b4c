"""KMS: the ``Cipher`` that seals payment provider credentials (``billing.payments.accounts``) and
outbound webhooks' signing secrets (``billing.webhooks_out``), each with its own key.

Each secret is encrypted directly with the template's ``ProviderCredentialsKey`` (credentials
are far below KMS's 4 KB limit, so no data key is needed) under the encryption context the
domain gives: KMS refuses to decrypt with any other context, and CloudTrail records it with
every use. Decrypt names the key too, so a ciphertext of another key is refused rather than
opened with whatever key it names. The key id is read when first used (``PROVIDER_CREDENTIALS_KEY``),
so a function that never seals or opens credentials needs none.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from billing.adapters import aws
from billing.settings import get_settings, required


def _key_id() -> str | None:
    return get_settings().provider_credentials_key


class KmsCipher:
    """``key_id`` reads the key's id, from ``variable``: the provider credentials' key by default;
    outbound webhooks' signing secrets have a key of their own (``WEBHOOK_SECRETS_KEY``)."""

    def __init__(self, key_id: Callable[[], str | None] = _key_id, variable: str = "PROVIDER_CREDENTIALS_KEY"):
        self._key_id, self._variable = key_id, variable

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        answer = aws.client("kms").encrypt(KeyId=self._key(), Plaintext=plaintext, EncryptionContext=dict(context))
        return bytes(answer["CiphertextBlob"])

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        answer = aws.client("kms").decrypt(
            KeyId=self._key(), CiphertextBlob=ciphertext, EncryptionContext=dict(context)
        )
        return bytes(answer["Plaintext"])

    def _key(self) -> str:
        return required(self._key_id(), self._variable)
