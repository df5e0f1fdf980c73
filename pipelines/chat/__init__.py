"""Chat lakehouse: silver flows, gold tables and expectations declared with the kit."""
