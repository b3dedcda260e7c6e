"""Service: one function per use case, the only place a use case lives (every entry point calls it)."""
