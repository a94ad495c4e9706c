"""The language model: backends, the supervised worker process, weights, prompt templates."""
