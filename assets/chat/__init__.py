"""Chat: Kafka topics → bronze → silver (checked) → gold, in the group ``chat``, with its job, schedule and sensor,
all built by the kit from `pipelines/chat/lakehouse.py`."""

from assets.chat import descriptions
from assets.core.domain import domain_definitions
from pipelines.chat.lakehouse import LAKEHOUSE

defs = domain_definitions(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD)
