"""telespine.content."""
