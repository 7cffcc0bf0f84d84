"""The run's plumbing, shared by every stage: run directory, run state, seeds, the stage
runner, JSONL, records, estimates.
"""
