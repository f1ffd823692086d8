"""Secrets: Secrets Manager in AWS, a plain environment variable of the same name elsewhere.

``get_secret("DISCORD_BOT_TOKEN")`` returns ``$DISCORD_BOT_TOKEN`` when that variable is set (the
local stack, tests, ``sam local invoke --env-vars``). Otherwise it reads the secret whose name or
ARN is in ``$DISCORD_BOT_TOKEN_SECRET_ID`` through Powertools parameters, which caches it for five
minutes. The template only ever sets the ``_SECRET_ID`` form, so a deployed function never holds a
secret in its environment.
"""

from __future__ import annotations

import os

from flexcord.config import ConfigurationError


def get_secret(name: str) -> str:
    plain = os.environ.get(name)
    if plain:
        return plain
    secret_id = os.environ.get(f"{name}_SECRET_ID")
    if not secret_id:
        raise ConfigurationError(f"neither {name} nor {name}_SECRET_ID is set")
    # Imported here: it pulls in boto3, which only the functions that need a secret should pay for.
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_secret(secret_id)
    if not isinstance(value, str) or not value:
        raise ConfigurationError(f"secret {secret_id} is empty or not a string")
    return value
