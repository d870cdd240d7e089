"""Evaluation metrics: discrimination, the operating point, calibration and fairness by group.

Every metric takes ``y_true`` (0/1) and a score (probability or points) as NumPy-compatible arrays.
"""
