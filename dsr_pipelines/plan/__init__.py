"""Plan: the datamap, the lookup across stores, links between them, the erasure plan, exports."""
