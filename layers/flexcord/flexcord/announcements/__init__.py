"""Announcements: what a server's admins post in its announcements channel."""
