"""The classify stage: which instructions are classification tasks."""
