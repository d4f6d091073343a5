; Go tags for Fathom. A declaration with a single spec (`type Server struct {...}`)
; is captured whole so its signature reads "type Server struct"; specs of a grouped
; declaration are captured on their own (parse.py keeps the outermost per name).

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

; Methods belong to their receiver's type.
(method_declaration
  receiver: (parameter_list
    (parameter_declaration
      type: [
        (type_identifier) @name.scope
        (pointer_type (type_identifier) @name.scope)
        (generic_type type: (type_identifier) @name.scope)
        (pointer_type (generic_type type: (type_identifier) @name.scope))
      ]))
  name: (field_identifier) @name.definition.method) @definition.method

(type_declaration .
  (type_spec name: (type_identifier) @name.definition.struct type: (struct_type)) .) @definition.struct
(type_spec name: (type_identifier) @name.definition.struct type: (struct_type)) @definition.struct

(type_declaration .
  (type_spec name: (type_identifier) @name.definition.interface type: (interface_type)) .) @definition.interface
(type_spec name: (type_identifier) @name.definition.interface type: (interface_type)) @definition.interface

(type_declaration .
  (type_spec name: (type_identifier) @name.definition.type) .) @definition.type
(type_spec name: (type_identifier) @name.definition.type) @definition.type

(type_declaration .
  (type_alias name: (type_identifier) @name.definition.type) .) @definition.type
(type_alias name: (type_identifier) @name.definition.type) @definition.type

(method_elem name: (field_identifier) @name.definition.method) @definition.method

(field_declaration name: (field_identifier) @name.definition.field) @definition.field

; Package-level constants and variables.
(source_file
  (const_declaration .
    (const_spec name: (identifier) @name.definition.constant) .) @definition.constant)
(source_file
  (const_declaration
    (const_spec name: (identifier) @name.definition.constant) @definition.constant))
(source_file
  (var_declaration .
    (var_spec name: (identifier) @name.definition.constant) .) @definition.constant)
(source_file
  (var_declaration
    (var_spec name: (identifier) @name.definition.constant) @definition.constant))

; References.
(call_expression
  function: [
    (identifier) @name.reference.call
    (selector_expression field: (field_identifier) @name.reference.call)
    (index_expression operand: (identifier) @name.reference.call)
    (index_expression operand: (selector_expression field: (field_identifier) @name.reference.call))
  ])

(_ type: (type_identifier) @name.reference.type)
(_ result: (type_identifier) @name.reference.type)
(pointer_type (type_identifier) @name.reference.type)
(qualified_type name: (type_identifier) @name.reference.type)
(type_elem (type_identifier) @name.reference.type)
(slice_type element: (type_identifier) @name.reference.type)
(array_type element: (type_identifier) @name.reference.type)
(map_type key: (type_identifier) @name.reference.type)
(map_type value: (type_identifier) @name.reference.type)
(channel_type value: (type_identifier) @name.reference.type)

(interpreted_string_literal) @string
(raw_string_literal) @string
