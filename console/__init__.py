"""Infusion Console: the Qt application, its services, domain logic and storage."""
