"""The `veille` command: a thin shell over index/, rag/, api/ and evals/."""
