"""Our datatrove PipelineSteps, one concept per module; each module registers its recipe ops on import."""
