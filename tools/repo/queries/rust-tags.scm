; Rust tags for Fathom. Functions inside `impl Type` or a trait are methods of that
; type: impl blocks are scopes named after their type.

(struct_item name: (type_identifier) @name.definition.struct) @definition.struct
(union_item name: (type_identifier) @name.definition.struct) @definition.struct
(enum_item name: (type_identifier) @name.definition.enum) @definition.enum
(trait_item name: (type_identifier) @name.definition.trait) @definition.trait
(mod_item name: (identifier) @name.definition.module) @definition.module
(type_item name: (type_identifier) @name.definition.type) @definition.type
(macro_definition name: (identifier) @name.definition.macro) @definition.macro
(const_item name: (identifier) @name.definition.constant) @definition.constant
(static_item name: (identifier) @name.definition.constant) @definition.constant
(enum_variant name: (identifier) @name.definition.constant) @definition.constant

(function_item name: (identifier) @name.definition.function) @definition.function
(function_signature_item name: (identifier) @name.definition.function) @definition.function

(field_declaration_list
  (field_declaration name: (field_identifier) @name.definition.field) @definition.field)

(impl_item
  type: [
    (type_identifier) @name.scope
    (generic_type type: (type_identifier) @name.scope)
    (scoped_type_identifier name: (type_identifier) @name.scope)
    (generic_type type: (scoped_type_identifier name: (type_identifier) @name.scope))
  ]) @scope

; References.
(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (field_identifier) @name.reference.call)
    (scoped_identifier name: (identifier) @name.reference.call)
    (generic_function function: (identifier) @name.reference.call)
    (generic_function function: (field_expression field: (field_identifier) @name.reference.call))
    (generic_function function: (scoped_identifier name: (identifier) @name.reference.call))
  ])

(macro_invocation macro: (identifier) @name.reference.call)

(impl_item trait: [
  (type_identifier) @name.reference.class
  (scoped_type_identifier name: (type_identifier) @name.reference.class)
  (generic_type type: (type_identifier) @name.reference.class)
])
(impl_item type: (type_identifier) @name.reference.class)
(impl_item type: (generic_type type: (type_identifier) @name.reference.class))

(struct_expression name: (type_identifier) @name.reference.class)
(scoped_identifier path: (identifier) @name.reference.class
  (#match? @name.reference.class "^[A-Z]"))

(_ type: (type_identifier) @name.reference.type)
(_ return_type: (type_identifier) @name.reference.type)
(generic_type type: (type_identifier) @name.reference.type)
(type_arguments (type_identifier) @name.reference.type)
(scoped_type_identifier name: (type_identifier) @name.reference.type)
(trait_bounds (type_identifier) @name.reference.type)

(use_declaration argument: [
  (identifier) @name.reference.import
  (scoped_identifier name: (identifier) @name.reference.import)
  (use_as_clause path: (scoped_identifier name: (identifier) @name.reference.import))
])
(use_list [
  (identifier) @name.reference.import
  (scoped_identifier name: (identifier) @name.reference.import)
  (use_as_clause path: [
    (identifier) @name.reference.import
    (scoped_identifier name: (identifier) @name.reference.import)
  ])
])

(string_literal) @string
(raw_string_literal) @string
