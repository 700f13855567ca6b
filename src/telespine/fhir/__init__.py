"""FHIR R4 adapter: SDC Questionnaires, export Bundles, QuestionnaireResponse import, CDS Hooks.

Resources are built with the R4B models of `fhir.resources` (FHIR 4.3, which keeps the R4
shape of every resource used here); exports are also checked against the official R4 JSON
schema in the tests. The domain packages never import this package.
"""
