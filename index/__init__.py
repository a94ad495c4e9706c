"""Ingestion: articles in, chunks + vectors + lexical index out."""
