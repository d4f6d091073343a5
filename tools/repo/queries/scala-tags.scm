; Scala tags for Fathom.

(class_definition name: (identifier) @name.definition.class) @definition.class
(object_definition name: (identifier) @name.definition.class) @definition.class
(trait_definition name: (identifier) @name.definition.trait) @definition.trait
(enum_definition name: (identifier) @name.definition.enum) @definition.enum
(type_definition name: (type_identifier) @name.definition.type) @definition.type

(function_definition name: (identifier) @name.definition.function) @definition.function
(function_declaration name: (identifier) @name.definition.function) @definition.function

(simple_enum_case name: (identifier) @name.definition.constant) @definition.constant
(full_enum_case name: (identifier) @name.definition.constant) @definition.constant

(compilation_unit
  [
    (val_definition pattern: (identifier) @name.definition.constant)
    (var_definition pattern: (identifier) @name.definition.constant)
  ] @definition.constant)
(template_body
  [
    (val_definition pattern: (identifier) @name.definition.field)
    (var_definition pattern: (identifier) @name.definition.field)
    (val_declaration name: (identifier) @name.definition.field)
    (var_declaration name: (identifier) @name.definition.field)
  ] @definition.field)
(class_parameter name: (identifier) @name.definition.field) @definition.field

; References.
(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (identifier) @name.reference.call)
    (generic_function function: (identifier) @name.reference.call)
    (generic_function function: (field_expression field: (identifier) @name.reference.call))
  ])

(instance_expression [
  (type_identifier) @name.reference.class
  (generic_type type: (type_identifier) @name.reference.class)
])
(extends_clause type: [
  (type_identifier) @name.reference.class
  (generic_type type: (type_identifier) @name.reference.class)
])

(_ type: (type_identifier) @name.reference.type)
(_ return_type: (type_identifier) @name.reference.type)
(generic_type type: (type_identifier) @name.reference.type)
(type_arguments (type_identifier) @name.reference.type)

(import_declaration (identifier) @name.reference.import .)
(namespace_selectors [
  (identifier) @name.reference.import
  (arrow_renamed_identifier name: (identifier) @name.reference.import)
])

(string) @string
(interpolated_string_expression) @string
