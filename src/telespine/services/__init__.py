"""Services: one function per write that a page and the API share.

Each does the write, its audit row and its safety-net outcome; routes parse, call one, render.
Services depend on the domain packages and the store, never on telespine.web
(tests/test_architecture.py checks this).
"""
