"""Bridge supervision with the standard library's `subprocess`: CommandBridge runs any command.

`lifecycle` holds the helpers a bridge's child program uses (stop on SIGTERM, exit codes).
"""

from .bridge import CommandBridge
from .lifecycle import BridgeExitError, ChildLifecycle, report
from .logfile import BoundedLog

__all__ = ["BoundedLog", "BridgeExitError", "ChildLifecycle", "CommandBridge", "report"]
