"""Measuring variants the same way: predictors, performance, memory, quality, face regions, records.

Imports models only; never mlflow or streamlit (the registry and dashboard consume the records).
"""
