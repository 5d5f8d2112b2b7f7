"""Exceptions raised for the status codes of the C ABI."""

OK = 0
INVALID_ARGUMENT = 1
CONFIG = 2
NOT_FOUND = 3
DEVICE_UNAVAILABLE = 4
DEVICE_MEMORY = 5
GRAPH = 6
BACKEND = 7
IO = 8
RUNTIME = 9
INTERNAL = 10


class AccelError(RuntimeError):
    """A failed Accel call. `status` is the accel_status code, `status_name` its name, and the
    message says what was wrong and how to fix it."""

    def __init__(self, status, status_name, message):
        super().__init__(f"{status_name}: {message}")
        self.status = status
        self.status_name = status_name
        self.message = message


class InvalidArgumentError(AccelError, ValueError):
    """A bad tensor (dtype, shape, NULL data), a bad option or bad input data."""


class ConfigError(AccelError, ValueError):
    """config.json, an option, a hardware profile or an ACCEL_* variable is invalid."""


class NotFoundError(AccelError, FileNotFoundError):
    """A file or folder does not exist."""


class DeviceUnavailableError(AccelError):
    """The named device is absent or cannot be opened."""


_BY_STATUS = {
    INVALID_ARGUMENT: InvalidArgumentError,
    CONFIG: ConfigError,
    NOT_FOUND: NotFoundError,
    DEVICE_UNAVAILABLE: DeviceUnavailableError,
}


def error_for(status, status_name, message):
    """The exception for a failure status."""
    return _BY_STATUS.get(status, AccelError)(status, status_name, message)
