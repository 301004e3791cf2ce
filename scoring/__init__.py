"""Pure NumPy scoring: arrays in, arrays out. Imports neither the web nor the database layers."""

from scoring.engine import NO_LEVEL, Scores, combine_respondents, from_dimension_scores, score
from scoring.model import InvalidAnswer, ScoringModel, compile_instrument

__all__ = [
    "NO_LEVEL", "InvalidAnswer", "Scores", "ScoringModel", "combine_respondents", "compile_instrument",
    "from_dimension_scores", "score",
]
