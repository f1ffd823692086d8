"""Endpoints Twilio calls: signed form posts, validated with twilio's RequestValidator."""
