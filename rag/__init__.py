"""Reading the store: retrieval, answers, citations, digests."""
