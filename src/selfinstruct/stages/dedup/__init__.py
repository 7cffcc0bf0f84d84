"""Dedup: the pool's ROUGE-L rule over a dataset a user already has."""
