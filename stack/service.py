"""What every locally run server looks like to the stack manager.

A service knows its command line, how to prepare its folder (configs, formatted storage) and how to prove it is
ready with a real client round trip. Starting, stopping and watching processes is the manager's job.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import ClassVar

from lakehouse import jvm
from lakehouse.settings import Settings


class ServiceError(RuntimeError):
    """A service failed to install, start or answer; the message names it and says why."""

    def __init__(self, service: str, reason: str, log_tail: str = "") -> None:
        self.service = service
        self.reason = reason
        self.log_tail = log_tail
        message = f"{service}: {reason}"
        if log_tail:
            message += f"\n--- last lines of the {service} log ---\n{log_tail}"
        super().__init__(message)


class LocalService(ABC):
    name: ClassVar[str]
    # JVM services each take a core while they boot: the manager starts them one at a time.
    heavy: ClassVar[bool] = False
    # Seconds a healthy start normally takes on 2 cores; the start timeout comes from settings.
    typical_start_s: ClassVar[float] = 5.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def host(self) -> str:
        return self.settings.address(self.name)[0]

    @property
    def port(self) -> int:
        return self.settings.address(self.name)[1]

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def folder(self) -> Path:
        return self.settings.home_dir / "stack" / self.name

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log_file(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.folder / f"{self.name}.pid"

    def ports(self) -> list[int]:
        """Every TCP port the service listens on; all must be free before it starts."""
        return [self.port]

    def run_as_user(self) -> str | None:
        """A system user to drop to (PostgreSQL refuses to run as root)."""
        return None

    def environment(self) -> dict[str, str]:
        return {}

    def install_hint(self) -> str:
        return "run `lakehouse stack install`"

    def prepare(self) -> None:
        """Create folders and configs, format storage: idempotent, cheap when already done."""
        self.data_dir.mkdir(parents=True, exist_ok=True)

    @abstractmethod
    def command(self) -> list[str]:
        """The foreground command line of the server; raises ServiceError when a binary is missing."""

    @abstractmethod
    def check(self, timeout_s: float = 5.0) -> str:
        """A real client round trip; returns a short description (version) or raises."""


class JvmService(LocalService):
    """A server run from a classpath of ``jvm_artifacts.txt``; each JVM takes a core while it boots."""

    heavy = True

    def jars(self) -> list[Path]:
        try:
            return jvm.jars(self.settings.cache_dir, self.name)
        except RuntimeError as error:
            raise ServiceError(self.name, str(error)) from error

    def classpath(self) -> str:
        return ":".join(str(jar) for jar in self.jars())
