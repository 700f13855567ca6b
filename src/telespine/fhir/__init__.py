"""telespine.fhir."""
