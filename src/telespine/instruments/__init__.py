"""telespine.instruments."""
