"""Announcements: posts to a server's announcements channel (issue 9)."""
