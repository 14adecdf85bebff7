"""Runs the pipeline: discover, extract (cached, in workers), link, check, suppress; and the
fix loop that applies fixes to files.
"""
