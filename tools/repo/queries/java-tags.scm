; Java tags for Fathom.

(class_declaration name: (identifier) @name.definition.class) @definition.class
(record_declaration name: (identifier) @name.definition.class) @definition.class
(interface_declaration name: (identifier) @name.definition.interface) @definition.interface
(annotation_type_declaration name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration name: (identifier) @name.definition.enum) @definition.enum

(method_declaration name: (identifier) @name.definition.method) @definition.method
(constructor_declaration name: (identifier) @name.definition.method) @definition.method
(compact_constructor_declaration name: (identifier) @name.definition.method) @definition.method
(annotation_type_element_declaration name: (identifier) @name.definition.method) @definition.method

(field_declaration
  declarator: (variable_declarator name: (identifier) @name.definition.field)) @definition.field
(constant_declaration
  declarator: (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant
(enum_constant name: (identifier) @name.definition.constant) @definition.constant

; References.
(method_invocation name: (identifier) @name.reference.call)

(object_creation_expression
  type: [
    (type_identifier) @name.reference.class
    (generic_type (type_identifier) @name.reference.class)
    (scoped_type_identifier (type_identifier) @name.reference.class .)
    (generic_type (scoped_type_identifier (type_identifier) @name.reference.class .))
  ])

(superclass [
  (type_identifier) @name.reference.class
  (generic_type (type_identifier) @name.reference.class)
])
(type_list [
  (type_identifier) @name.reference.class
  (generic_type (type_identifier) @name.reference.class)
])

(_ type: (type_identifier) @name.reference.type)
(_ type: (generic_type (type_identifier) @name.reference.type))
(type_arguments (type_identifier) @name.reference.type)
(array_type element: (type_identifier) @name.reference.type)

(import_declaration (scoped_identifier name: (identifier) @name.reference.import))

(string_literal) @string
