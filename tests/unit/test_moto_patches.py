"""The emulator's moto patches still match the moto installed: a moto upgrade that changes
what a patch replaces or relies on fails here, naming the patch, not somewhere in a test of
the stack."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from infra.local import moto_patches
from infra.local.moto_patches import PATCHES, Patch


@pytest.mark.parametrize("patch", PATCHES, ids=lambda patch: patch.name)
def test_each_patch_was_written_for_the_installed_moto(patch: Patch) -> None:
    found = patch.fingerprint()
    assert found == patch.written_for, (
        f"moto patch '{patch.name}' was written for other code of {patch.target} (or of what it reads) "
        f"than moto {version('moto')} has: read the new code, adapt the patch in infra/local/moto_patches.py, "
        f"then set its written_for to {found!r}"
    )


def test_apply_installs_every_patch() -> None:
    originals = {patch: patch.owner.__dict__[patch.attribute] for patch in PATCHES}
    try:
        moto_patches.apply()
        moto_patches.apply()  # twice changes nothing
        assert all(patch.owner.__dict__[patch.attribute] is patch.replacement for patch in PATCHES)
    finally:
        for patch, original in originals.items():
            setattr(patch.owner, patch.attribute, original)
