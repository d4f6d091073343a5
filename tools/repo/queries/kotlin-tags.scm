; Kotlin tags for Fathom. This grammar has no field names: the name is the class's
; direct type_identifier child, the function's direct simple_identifier child.

(class_declaration "class" (type_identifier) @name.definition.class (class_body)? @body) @definition.class
(class_declaration "enum" (type_identifier) @name.definition.enum (enum_class_body)? @body) @definition.enum
(class_declaration "interface" (type_identifier) @name.definition.interface (class_body)? @body) @definition.interface
(object_declaration (type_identifier) @name.definition.class (class_body)? @body) @definition.class
(companion_object (type_identifier) @name.definition.class (class_body)? @body) @definition.class

(function_declaration (simple_identifier) @name.definition.function (function_body)? @body) @definition.function
(secondary_constructor "constructor" @name.definition.method) @definition.method

(type_alias (type_identifier) @name.definition.type) @definition.type
(enum_entry (simple_identifier) @name.definition.constant) @definition.constant

(source_file
  (property_declaration
    (variable_declaration (simple_identifier) @name.definition.constant)) @definition.constant)
(class_body
  (property_declaration
    (variable_declaration (simple_identifier) @name.definition.field)) @definition.field)
(class_parameter (binding_pattern_kind) (simple_identifier) @name.definition.field) @definition.field

; References.
(call_expression . (simple_identifier) @name.reference.call)
(call_expression .
  (navigation_expression (navigation_suffix (simple_identifier) @name.reference.call) .))

(delegation_specifier [
  (user_type (type_identifier) @name.reference.class)
  (constructor_invocation (user_type (type_identifier) @name.reference.class))
])
(user_type (type_identifier) @name.reference.type)

(import_header (identifier (simple_identifier) @name.reference.import .))

(string_literal) @string
