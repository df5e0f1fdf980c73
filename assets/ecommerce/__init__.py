"""E-commerce: Kafka topics → bronze → silver (checked) → gold, in the group ``ecommerce``, with its job, schedule
and sensor, all built by the kit from `pipelines/ecommerce/lakehouse.py`; and the fraud rescoring job."""

from dagster import Definitions

from assets.core.domain import domain_definitions
from assets.ecommerce import descriptions, rescoring
from pipelines.ecommerce.lakehouse import LAKEHOUSE

defs = Definitions.merge(domain_definitions(LAKEHOUSE, descriptions.SILVER, descriptions.GOLD), rescoring.defs)
