"""Connector errors. Each message says what went wrong and what the user can do about it."""


class IntercomError(Exception):
    """Base of every error the Intercom connector raises on purpose."""


class ConfigurationError(IntercomError):
    """Bad input from the user: region, base_url, dates, resource names. Raised before any request."""


class IntercomAPIError(IntercomError):
    """The API answered with an error that retrying will not fix."""

    def __init__(
        self, message: str, status: int | None = None, code: str | None = None, endpoint: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.endpoint = endpoint
        """`METHOD /path` refused, where the error names one."""


class AuthenticationError(IntercomAPIError):
    """401: the access token was rejected."""


class PlanRestrictedError(IntercomAPIError):
    """403: the workspace's plan or the token's scopes do not allow this endpoint.

    A resource refused so is skipped and the rest of the run loads (skips.py), unless the resource is one
    of the source's `required_resources`: then this error fails the run."""


class NotFoundError(IntercomAPIError):
    """404: the object does not exist (deleted, merged or archived since it was listed)."""


class TransientError(IntercomAPIError):
    """A transient fault (5xx, reset connection, truncated body, 429) that persisted through every retry."""
