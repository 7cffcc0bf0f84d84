"""The run report, read from a run directory: computed, then rendered as Markdown, HTML
and plots.
"""
