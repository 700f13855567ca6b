"""telespine.web."""
