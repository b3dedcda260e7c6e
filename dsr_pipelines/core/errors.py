"""Errors a user can act on. Messages never carry identity values or row contents."""


class DsrError(Exception):
    """A problem with the user's input or configuration; the CLI prints it and exits 2."""


class ConfigError(DsrError):
    pass


class IdentityError(DsrError):
    pass


class DatamapError(DsrError):
    pass


class RequestStateError(DsrError):
    pass


class UnknownRequest(DsrError):
    pass


class TenantError(DsrError):
    """An unknown or malformed tenant name."""


class AccessDenied(DsrError):
    """An API key that is missing, unknown, expired or revoked, or lacks the scope a call needs."""
