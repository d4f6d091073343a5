; Swift tags for Fathom. One node type, class_declaration, holds classes, structs,
; enums, actors and extensions; its declaration_kind tells them apart. Extensions are
; scopes: the functions in `extension Player {...}` are methods of Player.

(class_declaration declaration_kind: "class" name: (type_identifier) @name.definition.class) @definition.class
(class_declaration declaration_kind: "actor" name: (type_identifier) @name.definition.class) @definition.class
(class_declaration declaration_kind: "struct" name: (type_identifier) @name.definition.struct) @definition.struct
(class_declaration declaration_kind: "enum" name: (type_identifier) @name.definition.enum) @definition.enum
(class_declaration
  declaration_kind: "extension"
  name: (user_type (type_identifier) @name.scope)) @scope

(protocol_declaration name: (type_identifier) @name.definition.interface) @definition.interface
(protocol_function_declaration name: (simple_identifier) @name.definition.method) @definition.method
(protocol_property_declaration
  name: (pattern bound_identifier: (simple_identifier) @name.definition.field)) @definition.field

(function_declaration name: (simple_identifier) @name.definition.function) @definition.function
(init_declaration name: "init" @name.definition.method) @definition.method

(typealias_declaration name: (type_identifier) @name.definition.type) @definition.type
(enum_entry name: (simple_identifier) @name.definition.constant) @definition.constant

(source_file
  (property_declaration
    name: (pattern bound_identifier: (simple_identifier) @name.definition.constant)) @definition.constant)
(class_body
  (property_declaration
    name: (pattern bound_identifier: (simple_identifier) @name.definition.field)) @definition.field)

; References.
(call_expression . (simple_identifier) @name.reference.call)
(call_expression .
  (navigation_expression suffix: (navigation_suffix suffix: (simple_identifier) @name.reference.call)))
(constructor_expression constructed_type: (user_type (type_identifier) @name.reference.class))
(inheritance_specifier inherits_from: (user_type (type_identifier) @name.reference.class))
(user_type (type_identifier) @name.reference.type)

(import_declaration (identifier (simple_identifier) @name.reference.import .))

(line_string_literal) @string
(multi_line_string_literal) @string
