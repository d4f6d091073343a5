; C# tags for Fathom.

(class_declaration name: (identifier) @name.definition.class) @definition.class
(record_declaration name: (identifier) @name.definition.class) @definition.class
(struct_declaration name: (identifier) @name.definition.struct) @definition.struct
(interface_declaration name: (identifier) @name.definition.interface) @definition.interface
(enum_declaration name: (identifier) @name.definition.enum) @definition.enum
(delegate_declaration name: (identifier) @name.definition.type) @definition.type

(namespace_declaration
  name: [(identifier) (qualified_name)] @name.definition.module) @definition.module
(file_scoped_namespace_declaration
  name: [(identifier) (qualified_name)] @name.definition.module) @definition.module

(method_declaration name: (identifier) @name.definition.method) @definition.method
(constructor_declaration name: (identifier) @name.definition.method) @definition.method
(destructor_declaration name: (identifier) @name.definition.method) @definition.method
(local_function_statement name: (identifier) @name.definition.function) @definition.function

(property_declaration name: (identifier) @name.definition.field) @definition.field
(field_declaration
  (variable_declaration (variable_declarator name: (identifier) @name.definition.field))) @definition.field
(event_field_declaration
  (variable_declaration (variable_declarator name: (identifier) @name.definition.field))) @definition.field
(field_declaration
  (modifier "const")
  (variable_declaration (variable_declarator name: (identifier) @name.definition.constant))) @definition.constant
(enum_member_declaration name: (identifier) @name.definition.constant) @definition.constant

; References.
(invocation_expression
  function: [
    (identifier) @name.reference.call
    (generic_name (identifier) @name.reference.call)
    (member_access_expression name: (identifier) @name.reference.call)
    (member_access_expression name: (generic_name (identifier) @name.reference.call))
  ])

(object_creation_expression
  type: [
    (identifier) @name.reference.class
    (generic_name (identifier) @name.reference.class)
    (qualified_name name: (identifier) @name.reference.class)
  ])

(base_list [
  (identifier) @name.reference.class
  (generic_name (identifier) @name.reference.class)
  (qualified_name name: (identifier) @name.reference.class)
])

(_ type: (identifier) @name.reference.type)
(_ type: (generic_name (identifier) @name.reference.type))
(_ returns: (identifier) @name.reference.type)
(_ returns: (generic_name (identifier) @name.reference.type))
(type_argument_list (identifier) @name.reference.type)

(using_directive [
  (identifier) @name.reference.import
  (qualified_name name: (identifier) @name.reference.import)
])

(string_literal) @string
(verbatim_string_literal) @string
(raw_string_literal) @string
(interpolated_string_expression) @string
