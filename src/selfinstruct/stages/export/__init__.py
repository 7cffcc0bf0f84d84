"""The export stage: the training files and the dataset card."""
