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


def test_queue_attributes_are_moto_own() -> None:
    """The SQS patch builds the very dict moto builds: visible, delayed and in-flight messages
    counted, FIFO, KMS and redrive attributes included."""
    import boto3
    from moto import mock_aws
    from moto.sqs.models import sqs_backends

    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        dead = sqs.create_queue(QueueName="dead")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=dead, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        plain = sqs.create_queue(
            QueueName="plain",
            Attributes={
                "KmsMasterKeyId": "alias/aws/sqs",
                "RedrivePolicy": f'{{"deadLetterTargetArn": "{arn}", "maxReceiveCount": 5}}',
            },
        )
        high_throughput = {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
        fifo = sqs.create_queue(QueueName="events.fifo", Attributes={"FifoQueue": "true", **high_throughput})
        for n in range(3):
            sqs.send_message(QueueUrl=plain["QueueUrl"], MessageBody=f"now {n}")
            sqs.send_message(QueueUrl=fifo["QueueUrl"], MessageBody=f"{n}", MessageGroupId=f"g{n}",
                             MessageDeduplicationId=f"d{n}")  # fmt: skip
        sqs.send_message(QueueUrl=plain["QueueUrl"], MessageBody="later", DelaySeconds=600)
        sqs.receive_message(QueueUrl=plain["QueueUrl"], MaxNumberOfMessages=1, VisibilityTimeout=600)
        sqs.receive_message(QueueUrl=fifo["QueueUrl"], MaxNumberOfMessages=1, VisibilityTimeout=600)
        queues = sqs_backends["123456789012"]["us-east-1"].queues
        for name, counts in (("plain", (2, 1, 1)), ("events.fifo", (2, 0, 1)), ("dead", (0, 0, 0))):
            ours, theirs = moto_patches._queue_attributes(queues[name]), moto_patches._moto_queue_attributes.fget(
                queues[name])  # fmt: skip
            assert ours == theirs and list(ours) == list(theirs), name
            assert (ours["ApproximateNumberOfMessages"], ours["ApproximateNumberOfMessagesDelayed"],
                    ours["ApproximateNumberOfMessagesNotVisible"]) == counts, name  # fmt: skip
