"""The Bridge port: a heavy source running as a supervised subprocess beside the app."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from hexloop.domain.bridges import BridgeStatus


class BridgeStartError(RuntimeError):
    """The bridge's process could not be spawned (missing program, bad folder, bad output)."""


@runtime_checkable
class Bridge(Protocol):
    """A child process the app starts, watches and stops; it never hands data to the app.

    A bridge writes its own output (a Zarr array, an LSL stream) and the app only supervises it.

    Threading: every method may be called from any thread (GUI, app cleanup, a setup script).
    `start` and `stop` serialise among themselves; `status` never blocks and is cheap enough to
    read every GUI frame. `start` returns once the process is spawned, not once it produces
    data; calling it on a running bridge does nothing. `stop(timeout)` asks the child to finish
    (SIGTERM, so it can flush its output), kills it after `timeout` seconds, and returns the final
    status; it blocks for at most about twice `timeout`, and calling it on a stopped bridge
    does nothing. A bridge that crashed stays 'crashed' (with its exit code and last stderr
    lines) until it is restarted, by its supervisor or by `start`. Optional:
    `set_recording_dir(location)` to record into the session. Test with
    `bridge_contracts.check_bridge`; docs/adapters.md.
    """

    @property
    def name(self) -> str: ...

    def start(self) -> None:
        """Spawn the child (no-op while running); raise with a clear message if it cannot."""
        ...

    def stop(self, timeout: float = 5.0) -> BridgeStatus:
        """Stop the child and any pending restart; return the final status."""
        ...

    @property
    def status(self) -> BridgeStatus: ...
