"""Adapters: one subpackage per technology, each implementing ports. Never imports the application."""
