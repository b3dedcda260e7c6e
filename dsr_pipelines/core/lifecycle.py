"""A request's kinds and states, and which state may follow which: the vocabulary every layer
shares. The state layer enforces it; the CLI and the HTTP API offer it (in their help, without
loading the state database's code)."""

REQUEST_TYPES = ("access", "erasure", "restriction", "lift-restriction")
FINAL = ("completed", "rejected", "cancelled")
RUNNABLE = ("verified", "running", "failed", "partially_completed")
TRANSITIONS = {
    "received": {"verified", "rejected", "cancelled"},
    "verified": {"running", "rejected", "cancelled"},  # cancelled: by the controller, before it runs
    # `rejected` after a start only when a later erasure of the subject supersedes the request
    "running": {"running", "completed", "partially_completed", "failed", "rejected"},
    "failed": {"running", "rejected"},
    "partially_completed": {"running", "rejected"},
    "completed": set(),
    "rejected": set(),
    "cancelled": set(),
}
STATES = tuple(TRANSITIONS)
