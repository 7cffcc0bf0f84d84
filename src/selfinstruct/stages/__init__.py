"""The stages of a run, side by side: each imports no other stage and they meet in the
run directory; `pipeline.py` alone knows their order.
"""
