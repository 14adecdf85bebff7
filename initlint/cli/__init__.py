"""The command line (`initlint`): click commands and their option groups (input, output,
discovery, stdin, watch, add-noqa).
"""
