"""Core: configuration, keys, identities, durations and errors; everything else stands on it."""
