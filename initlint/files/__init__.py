"""Stage 1, files: which files to lint, read safely (bounded, no links out of the tree),
notebooks as programs, the project a file belongs to, and safe writes back.
"""
