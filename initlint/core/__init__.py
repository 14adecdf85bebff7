"""What every stage may import: findings, settings, line arithmetic, and torch's behaviour as
data.
"""
