"""What a store's failure looks like to the layers above: imported by every command, so it stands
alone (the protocol's dataclasses in `base` load when a command works with stores)."""


class StoreError(Exception):
    """A store refused or failed an operation. Messages carry no values (engines hide parameters)."""


class StoreUnavailable(StoreError):
    """The store could not be reached."""
