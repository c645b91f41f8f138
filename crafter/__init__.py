"""crafter: draft grounded ML system design interview scenarios and lint them."""

__version__ = "0.1.0"
__all__ = ["__version__"]
