"""Announcements: what a server's admins post in its announcements channel, by hand (/announce)
or from the signed webhook."""
