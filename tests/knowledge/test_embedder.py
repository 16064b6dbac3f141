"""The embedder: a question is embedded on one torch thread (robust on busy cores) to the same
vector as in a multi-threaded batch, and the process's thread count is left as it was."""
from __future__ import annotations

import numpy as np
import torch

from labvoice.knowledge.embedder import ONE_THREAD_MAX_TEXTS


def test_one_question_is_embedded_on_one_thread_to_the_batch_vector(embedder):
    question = "which mlp run on mnist has the highest test accuracy"
    batch = [question] + [f"filler sentence number {i} about learning rates" for i in range(ONE_THREAD_MAX_TEXTS)]
    before = torch.get_num_threads()
    single = embedder.embed_query(question)
    assert torch.get_num_threads() == before
    many = embedder.embed(batch)
    assert torch.get_num_threads() == before
    assert single.shape == (embedder.dimension,) and abs(float(np.linalg.norm(single)) - 1.0) < 1e-5
    assert float(single @ many[0]) > 0.9999
