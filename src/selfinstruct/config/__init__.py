"""Configuration: the option catalogue, each option declared once, and its files."""
