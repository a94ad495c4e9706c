"""Shared French-first text helpers: cleaning, sentences, tokens, language, analysis, injection
masking. The bottom layer: imports nothing of ours, used by index/ and rag/ alike."""
