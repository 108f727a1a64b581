"""Training loop: features, cross-validated model selection, evaluation, registry and pre-labeling."""
