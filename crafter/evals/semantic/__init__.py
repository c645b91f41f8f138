"""The semantic layer of the lint checks: passages judged by meaning, beside the lexical rules.

``static``: a token table distilled from MiniLM (a passage vector is a weighted mean of rows);
``exemplars``: positive exemplars and near-miss negatives per check, read from
``evals/knowledge/semantic/*.yaml``; ``detector``: a small logistic model per check fitted on
them at load, and the nearest exemplar a finding names.
"""
