; Patterns shared by JavaScript, TypeScript and TSX (not a language of its own:
; javascript-tags.scm and typescript-tags.scm inherit it).

(class_declaration
  name: (_) @name.definition.class) @definition.class

(function_declaration
  name: (identifier) @name.definition.function) @definition.function

(generator_function_declaration
  name: (identifier) @name.definition.function) @definition.function

(method_definition
  name: [(property_identifier) (private_property_identifier)] @name.definition.method) @definition.method

; `const f = () => ...`, `let g = function () {...}`
(lexical_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [
      (arrow_function body: (_) @body)
      (function_expression body: (_) @body)
    ])) @definition.function

(variable_declaration
  (variable_declarator
    name: (identifier) @name.definition.function
    value: [
      (arrow_function body: (_) @body)
      (function_expression body: (_) @body)
    ])) @definition.function

; Top-level `const NAME = ...` (exported or not); functions above win over these.
(program
  (lexical_declaration
    "const"
    (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant)

(program
  (export_statement
    declaration: (lexical_declaration
      "const"
      (variable_declarator name: (identifier) @name.definition.constant)) @definition.constant))

; References.
(call_expression
  function: [
    (identifier) @name.reference.call
    (member_expression property: (property_identifier) @name.reference.call)
  ])

(new_expression
  constructor: [
    (identifier) @name.reference.class
    (member_expression property: (property_identifier) @name.reference.class)
  ])

(import_specifier name: (identifier) @name.reference.import)
(import_clause (identifier) @name.reference.import)

(string) @string
(template_string) @string
