"""Errors the device services raise."""


class DeviceNotFound(LookupError):
    """The device is not (yet) in the database: a report about it overtook its registration,
    which Celery workers running side by side can do. The task retries shortly."""
