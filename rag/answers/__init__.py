"""Grounded answers: numbered sentences, the model's {ids, answer} draft, verification, cited answers."""
