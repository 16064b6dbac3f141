"""Evaluation and reliability tooling: scored scenario runs (`scripts/evaluate.py`) and the soak
driver (`scripts/soak.py`). Ground truth is computed here with plain SQL, independently of the
question parser and fact finder it checks."""
