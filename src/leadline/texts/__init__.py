"""Texts (SMS): logged, sent through Twilio, with replies, delivery receipts and opt-outs."""
