"""The names other modules import from here, where they now live (kept so every import goes on working).

This module held three things; they are three modules now:

* the safety gate for tenant schemas (``check_tenant_schema``, ``SchemaRejected``, ``compile_validator``,
  the size, depth, reference and RE2 budgets): ``xinfang.forms.gate``;
* the submission messages (``validate_submission``, ``FieldError``, ``describe_failure``):
  ``xinfang.forms.messages``, built on the form's model;
* the schema reading the renderer did by hand: the form's model (``xinfang.forms.model``), read for
  display by ``xinfang.forms.reading``.

New code imports from those modules.
"""

from __future__ import annotations

from referencing import Registry  # tests build validators with it

from .gate import (
    ALLOWED_FORMATS,
    ALLOWED_WIDGETS,
    FORBIDDEN_KEYWORDS,
    FORMAT_CHECKER,
    MAX_CHOICES,
    MAX_FIELD_ERRORS,
    MAX_MAX_LENGTH,
    MAX_REF_HOPS,
    MAX_SCHEMA_BYTES,
    MAX_SCHEMA_DEPTH,
    MAX_SUBMISSION_DEPTH,
    MAX_SUBMISSION_NODES,
    MAX_UNFOLDED_NODES,
    PROPERTY_NAME_RULE,
    RESERVED_PROPERTY_NAMES,
    SCHEMA_DIALECT,
    VALIDATOR_CACHE_SIZE,
    SchemaRejected,
    TenantSchemaValidator,
    _cache,
    _find_additional_properties,
    _kw_additional_properties,
    _kw_pattern,
    _kw_pattern_properties,
    canonical_json,
    check_tenant_schema,
    choice_options,
    compile_validator,
    field_kind,
    identity_names,
    ordered_properties,
    re2_error,
    re2_search,
    resolve_node,
    schema_digest,
    to_pointer,
)
from .messages import (
    ANONYMOUS_IDENTITY_EN,
    ANONYMOUS_IDENTITY_ZH,
    FieldError,
    describe_failure,
    validate_submission,
)
from .reading import display_descriptions, display_titles, property_node

__all__ = [
    "ALLOWED_FORMATS",
    "ALLOWED_WIDGETS",
    "FORBIDDEN_KEYWORDS",
    "FORMAT_CHECKER",
    "MAX_CHOICES",
    "MAX_FIELD_ERRORS",
    "MAX_MAX_LENGTH",
    "MAX_REF_HOPS",
    "MAX_SCHEMA_BYTES",
    "MAX_SCHEMA_DEPTH",
    "MAX_SUBMISSION_DEPTH",
    "MAX_SUBMISSION_NODES",
    "MAX_UNFOLDED_NODES",
    "PROPERTY_NAME_RULE",
    "RESERVED_PROPERTY_NAMES",
    "SCHEMA_DIALECT",
    "VALIDATOR_CACHE_SIZE",
    "SchemaRejected",
    "TenantSchemaValidator",
    "_cache",
    "_find_additional_properties",
    "_kw_additional_properties",
    "_kw_pattern",
    "_kw_pattern_properties",
    "canonical_json",
    "check_tenant_schema",
    "choice_options",
    "compile_validator",
    "field_kind",
    "identity_names",
    "ordered_properties",
    "re2_error",
    "re2_search",
    "resolve_node",
    "schema_digest",
    "to_pointer",
    "ANONYMOUS_IDENTITY_EN",
    "ANONYMOUS_IDENTITY_ZH",
    "FieldError",
    "describe_failure",
    "validate_submission",
    "Registry",
    "display_descriptions",
    "display_titles",
    "property_node",
]
