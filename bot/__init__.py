"""faqbot: a Telegram bot answering questions about the backend developer profession."""

import os

# One OpenBLAS thread, decided here because OpenBLAS reads it once, when numpy loads: each question's matrix
# products are small (1,900 x 384), and OpenBLAS's worker threads spin after every call, against the model
# and the event loop (a long message took 7 ms instead of 3.5; threadpoolctl's limit leaves them spinning).
# An explicit OPENBLAS_NUM_THREADS in the environment wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
