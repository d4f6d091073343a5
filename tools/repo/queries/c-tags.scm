; C tags for Fathom (also the base of cpp-tags.scm).

(function_definition
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function)))
  ]) @definition.function

; Prototypes (headers): `int add(int a, int b);`
(declaration
  declarator: [
    (function_declarator declarator: (identifier) @name.definition.function)
    (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (identifier) @name.definition.function)))
  ]) @definition.function

(struct_specifier name: (type_identifier) @name.definition.struct body: (_)) @definition.struct
(union_specifier name: (type_identifier) @name.definition.struct body: (_)) @definition.struct
(enum_specifier name: (type_identifier) @name.definition.enum body: (_)) @definition.enum

; `typedef struct {...} name;`, `typedef char *(*name)(int);` (function pointers), ...
(type_definition
  declarator: [
    (type_identifier) @name.definition.type
    (pointer_declarator declarator: (type_identifier) @name.definition.type)
    (pointer_declarator declarator: (pointer_declarator declarator: (type_identifier) @name.definition.type))
    (array_declarator declarator: (type_identifier) @name.definition.type)
    (function_declarator declarator: (type_identifier) @name.definition.type)
    (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name.definition.type)))
    (pointer_declarator declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name.definition.type))))
    (pointer_declarator declarator: (pointer_declarator declarator: (function_declarator declarator: (parenthesized_declarator (pointer_declarator declarator: (type_identifier) @name.definition.type)))))
  ]) @definition.type

(preproc_def name: (identifier) @name.definition.macro) @definition.macro
(preproc_function_def name: (identifier) @name.definition.macro) @definition.macro

; Fields (field_declarations exist only in struct and union bodies, `#if` blocks there too).
(field_declaration
  declarator: [
    (field_identifier) @name.definition.field
    (pointer_declarator declarator: (field_identifier) @name.definition.field)
    (pointer_declarator declarator: (pointer_declarator declarator: (field_identifier) @name.definition.field))
    (array_declarator declarator: (field_identifier) @name.definition.field)
  ]) @definition.field

(enumerator name: (identifier) @name.definition.constant) @definition.constant

; Global variables.
(translation_unit
  (declaration
    declarator: [
      (identifier) @name.definition.constant
      (init_declarator declarator: (identifier) @name.definition.constant)
      (init_declarator declarator: (pointer_declarator declarator: (identifier) @name.definition.constant))
      (pointer_declarator declarator: (identifier) @name.definition.constant)
      (array_declarator declarator: (identifier) @name.definition.constant)
      (init_declarator declarator: (array_declarator declarator: (identifier) @name.definition.constant))
    ]) @definition.constant)

; References.
(call_expression
  function: [
    (identifier) @name.reference.call
    (field_expression field: (field_identifier) @name.reference.call)
  ])

(_ type: (type_identifier) @name.reference.type)
(struct_specifier name: (type_identifier) @name.reference.type !body)
(union_specifier name: (type_identifier) @name.reference.type !body)
(enum_specifier name: (type_identifier) @name.reference.type !body)

(string_literal) @string
