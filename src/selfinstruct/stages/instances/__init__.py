"""The instances stage: input/output examples for each instruction."""
