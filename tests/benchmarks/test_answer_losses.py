"""The loss report's count of short answers: wrong by containment, yet a part of the gold span."""

from __future__ import annotations

from benchmarks.answer_losses import part_of_gold


def test_a_shorter_run_of_the_gold_span_is_counted_apart_from_another_fact() -> None:
    assert part_of_gold(["vers 1015"], "1015 [1].")
    assert part_of_gold(["Le linguiste Johannes Schmidt"], "Johannes Schmidt [1][2].")
    # Another fact, words out of order, the whole span, or nothing: not "a part of the gold".
    assert not part_of_gold(["vers 1015"], "1022 [1].")
    assert not part_of_gold(["de Lamo, Rotondo et San Stefano"], "San Stefano et Rotondo")
    assert not part_of_gold(["vers 1015"], "vers 1015")
    assert not part_of_gold(["vers 1015"], "")
