"""The HTTP service: a thin FastAPI shell over index/ and rag/."""
