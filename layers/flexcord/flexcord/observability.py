"""The one place Logger and Metrics are created, so every module logs and counts the same way.

No Tracer: creating one imports the X-Ray SDK (~300 ms), which the interactions endpoint cannot
afford inside Discord's 3-second deadline.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger(service="flexcord")
metrics = Metrics(namespace="Flexcord", service="flexcord")
