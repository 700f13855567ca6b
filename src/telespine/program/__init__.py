"""telespine.program."""
