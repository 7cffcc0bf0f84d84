"""Pure text helpers used across layers: language, verbs and objects, list items, URLs
fit to show.
"""
