"""Benchmarks: optimizer step time against torch.optim and against the memory floor
(``python -m benchmarks.optim_step``), and the older per-path table (``step_time.py``)."""
