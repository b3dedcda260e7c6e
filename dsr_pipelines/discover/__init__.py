"""Discover: Presidio recognizers run offline, column scoring, and proposals for the datamap."""
