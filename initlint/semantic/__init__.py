"""Stage 3, the project's meaning: classes across files, module trees, the evaluator, which
init reaches which parameter, the signal model, and the context rules see.
"""
