"""The metamodel: feature schema, JSON artifact, scoring. Shared by the server and training."""

from metamodel.artifact import Metamodel, MetamodelError, load_metamodel, save_metamodel
from metamodel.schema import FEATURE_GROUPS, FEATURES, SCHEMA_VERSION

__all__ = [
    "FEATURES",
    "FEATURE_GROUPS",
    "SCHEMA_VERSION",
    "Metamodel",
    "MetamodelError",
    "load_metamodel",
    "save_metamodel",
]
