"""The query layer: questions become typed queries (model.py), parsed from the DB's vocabulary and
the question's meaning (extract.py, shapes.py, compose.py), executed over the loaded runs
(execute.py) and worded for the window and for the ear (wording.py)."""
