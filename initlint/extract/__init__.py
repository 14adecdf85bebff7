"""Stage 2, one file to facts: an `ast` tree read once into frozen, picklable FileFacts
(imports, classes, layers, init sites, forward flow, expressions the evaluator runs later).
"""
