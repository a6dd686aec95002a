"""Importing observation files: reading, validating and merging them into the store."""
