"""telespine.care."""
