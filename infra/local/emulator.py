"""moto in server mode, one request at a time, made fast enough for a busy table.

What it changes in moto, and why, is ``infra.local.moto_patches`` (tied to the pinned moto
version, and checked against it by a test).
"""

from __future__ import annotations

from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from infra.local import moto_patches


class Emulator(ThreadedMotoServer):
    def start(self) -> None:
        moto_patches.apply()
        super().start()


def main() -> None:
    """``python -m infra.local.emulator PORT``: the emulator alone, in its own process."""
    import logging
    import signal
    import sys

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = Emulator(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
    server.start()
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    signal.sigwait({signal.SIGINT, signal.SIGTERM})
    server.stop()


if __name__ == "__main__":
    main()
