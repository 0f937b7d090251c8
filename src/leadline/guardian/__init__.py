"""Sender guardian: the domain doctor, the compliance gate, and the reply labeller with its actions."""
