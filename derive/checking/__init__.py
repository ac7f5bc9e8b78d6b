"""Checking hand-written derivations: document -> chains -> parse -> interpret -> verify -> report."""

from .judge import check
from .report import Report

__all__ = ["check", "Report"]
