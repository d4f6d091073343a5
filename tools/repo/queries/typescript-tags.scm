; inherits: ecmascript
; TypeScript tags for Fathom, on top of the shared ECMAScript patterns.

(abstract_class_declaration
  name: (type_identifier) @name.definition.class) @definition.class

(interface_declaration
  name: (type_identifier) @name.definition.interface) @definition.interface

(type_alias_declaration
  name: (type_identifier) @name.definition.type) @definition.type

(enum_declaration
  name: (identifier) @name.definition.enum) @definition.enum

; Enum members: `Admin`, `Viewer = 2`.
(enum_body name: (property_identifier) @name.definition.constant @definition.constant)
(enum_assignment name: (property_identifier) @name.definition.constant) @definition.constant

(internal_module
  name: [(identifier) (nested_identifier)] @name.definition.module) @definition.module

(function_signature
  name: (identifier) @name.definition.function) @definition.function

(method_signature
  name: (property_identifier) @name.definition.method) @definition.method

(abstract_method_signature
  name: (property_identifier) @name.definition.method) @definition.method

(public_field_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.field) @definition.field

(property_signature
  name: (property_identifier) @name.definition.field) @definition.field

; Type references (declared names are type_identifiers too, so only type positions).
(type_annotation (type_identifier) @name.reference.type)
(generic_type name: (type_identifier) @name.reference.type)
(type_arguments (type_identifier) @name.reference.type)
(union_type (type_identifier) @name.reference.type)
(intersection_type (type_identifier) @name.reference.type)
(array_type (type_identifier) @name.reference.type)
(nested_type_identifier name: (type_identifier) @name.reference.type)
(type_alias_declaration value: (type_identifier) @name.reference.type)

(extends_clause value: [
  (identifier) @name.reference.class
  (member_expression property: (property_identifier) @name.reference.class)
])
(implements_clause (type_identifier) @name.reference.class)
(extends_type_clause type: (type_identifier) @name.reference.class)
