; PHP tags for Fathom.

(namespace_definition name: (namespace_name) @name.definition.module) @definition.module
(class_declaration name: (name) @name.definition.class) @definition.class
(interface_declaration name: (name) @name.definition.interface) @definition.interface
(trait_declaration name: (name) @name.definition.trait) @definition.trait
(enum_declaration name: (name) @name.definition.enum) @definition.enum

(function_definition name: (name) @name.definition.function) @definition.function
(method_declaration name: (name) @name.definition.method) @definition.method

(const_declaration (const_element (name) @name.definition.constant)) @definition.constant
(enum_case name: (name) @name.definition.constant) @definition.constant
(property_declaration
  (property_element name: (variable_name (name) @name.definition.field))) @definition.field

; References.
(function_call_expression
  function: [
    (name) @name.reference.call
    (qualified_name (name) @name.reference.call)
  ])
(member_call_expression name: (name) @name.reference.call)
(nullsafe_member_call_expression name: (name) @name.reference.call)
(scoped_call_expression name: (name) @name.reference.call)
(scoped_call_expression scope: (name) @name.reference.class)
(scoped_call_expression scope: (qualified_name (name) @name.reference.class))

(object_creation_expression [
  (name) @name.reference.class
  (qualified_name (name) @name.reference.class)
])
(base_clause [
  (name) @name.reference.class
  (qualified_name (name) @name.reference.class)
])
(class_interface_clause [
  (name) @name.reference.class
  (qualified_name (name) @name.reference.class)
])
(use_declaration [
  (name) @name.reference.class
  (qualified_name (name) @name.reference.class)
])
(named_type [
  (name) @name.reference.type
  (qualified_name (name) @name.reference.type)
])

(namespace_use_clause [
  (name) @name.reference.import
  (qualified_name (name) @name.reference.import)
])

(string) @string
(encapsed_string) @string
(heredoc_body) @string.content
(nowdoc_body) @string.content
