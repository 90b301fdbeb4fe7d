"""Replies by email: the inbound SMTP listener and what becomes of each message."""

from __future__ import annotations

from inbound.listener import start
from inbound.parse import Parsed, parse_message
from inbound.receive import Mailbox, Received, receive

__all__ = ["Mailbox", "Parsed", "Received", "parse_message", "receive", "start"]
