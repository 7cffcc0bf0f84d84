"""The judge stage: a model's 1-5 scores for each instance."""
