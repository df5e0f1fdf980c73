"""Social: Kafka topics → bronze → silver (checked) → gold, in the group ``social``, with its job, schedule and
sensor, all built by the kit from `pipelines/social/lakehouse.py`."""

from assets.core.domain import domain_definitions
from assets.social import descriptions
from pipelines.social.lakehouse import LAKEHOUSE

defs = domain_definitions(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD)
