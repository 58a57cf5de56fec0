"""The kit's reference contactless reader: a PC/SC reader in front of a simulated card (virtual.py)."""
