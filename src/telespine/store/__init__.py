"""telespine.store."""
