"""Ground floor: settings, the Spark factory, lake paths, the JVM classpath and the MLflow store.

Every other package builds on these; they import nothing of ours but each other.
"""
