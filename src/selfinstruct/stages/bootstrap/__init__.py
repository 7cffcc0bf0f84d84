"""The bootstrap stage: a pool of machine-written instructions grown from the seeds."""
