"""The fraud model: training (``training``), how it is judged (``evaluation``), and its place in the registry
(``registry``). Only names here: importing this package loads neither scikit-learn nor MLflow."""

FRAUD_MODEL_NAME = "ecommerce-fraud"
FRAUD_EXPERIMENT_NAME = "ecommerce-fraud"
