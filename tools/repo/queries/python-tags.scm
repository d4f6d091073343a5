; Python tags for Fathom. Methods are functions directly inside a class body
; (parse.py promotes them), so one function pattern covers both.

(class_definition
  name: (identifier) @name.definition.class) @definition.class

(function_definition
  name: (identifier) @name.definition.function) @definition.function

; Module-level names: `MAX = 10`, `x: int = 3`, `type Alias = ...`.
(module
  (assignment
    left: (identifier) @name.definition.constant) @definition.constant)

(module
  (type_alias_statement
    left: (type (identifier) @name.definition.type)) @definition.type)

; Class attributes: dataclass fields, ORM columns, class constants.
(class_definition
  body: (block
    (assignment
      left: (identifier) @name.definition.field) @definition.field))

; References: calls, base classes, annotations, imported names.
(call
  function: [
    (identifier) @name.reference.call
    (attribute attribute: (identifier) @name.reference.call)
  ])

(class_definition
  superclasses: (argument_list
    [
      (identifier) @name.reference.class
      (attribute attribute: (identifier) @name.reference.class)
    ]))

(type (identifier) @name.reference.type)
(type (generic_type (identifier) @name.reference.type))
(type (attribute attribute: (identifier) @name.reference.type))

(import_from_statement
  name: [
    (dotted_name (identifier) @name.reference.import .)
    (aliased_import name: (dotted_name (identifier) @name.reference.import .))
  ])

(import_statement
  name: [
    (dotted_name (identifier) @name.reference.import .)
    (aliased_import name: (dotted_name (identifier) @name.reference.import .))
  ])

(string) @string
