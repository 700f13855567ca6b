"""telespine.triage."""
