"""Execution: the executor that implements the Application protocol, gas, and system modules."""
