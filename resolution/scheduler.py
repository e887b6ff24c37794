"""Placeholder until the scheduler door lands."""

from flask import Flask


def init_app(app: Flask) -> None:
    """Register nothing yet."""
